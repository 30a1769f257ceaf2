// Drives agentdeck's 2025-11-25 task form with the official TypeScript MCP client's task
// API (client.experimental.tasks), over stdio.
//
//   node tasks.mjs <command> <arg>...    start agentdeck over stdio with that command
//
// The config must have a local agent on a slow model ("slow" backend `local`) and an
// AgentFlow backend `flow` whose next stream pauses on an approval. Checks: chat is
// listed with taskSupport; a slow chat streams taskCreated, taskStatus and its result;
// tasks/list shows it; a notifications/tasks/status arrives; an approval is asked through
// elicitation during tasks/result and the run goes on; cancelTask cancels a task.
// Prints one JSON line with what it saw; any failure exits 1 with the reason on stderr.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema, TaskStatusNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const [command, ...args] = process.argv.slice(2);
const client = new Client(
  { name: "agentdeck-js-tasks", version: "1.0.0" },
  { capabilities: { elicitation: { form: {} } } },
);
const asked = [];
client.setRequestHandler(ElicitRequestSchema, async (request) => {
  asked.push(request.params.message);
  return { action: "accept", content: { decision: "deny", reason: "not now" } };
});
const statuses = [];
client.setNotificationHandler(TaskStatusNotificationSchema, (notification) => {
  statuses.push(notification.params.status);
});
await client.connect(new StdioClientTransport({ command, args, stderr: "inherit" }));
const seen = {};

const tools = (await client.listTools()).tools;
seen.taskSupport = tools.find((t) => t.name === "chat").execution?.taskSupport ?? null;
check(client.getServerCapabilities().tasks?.requests?.tools?.call, "no tasks capability");

async function streamed(params) {
  const kinds = [];
  let result = null;
  let taskId = null;
  for await (const message of client.experimental.tasks.callToolStream(params)) {
    kinds.push(message.type);
    if (message.type === "taskCreated") taskId = message.task.taskId;
    if (message.type === "result") result = message.result;
    if (message.type === "error") throw message.error;
  }
  return { kinds, result, taskId };
}

const created = await client.callTool({
  name: "create_agent",
  arguments: { backend: "local", name: "Slow" },
});
const agent = created.structuredContent.ref;

// 1. A slow chat as a task, polled to its result.
const slow = await streamed({ name: "chat", arguments: { agent, message: "hi" } });
seen.kinds = [...new Set(slow.kinds)];
seen.text = slow.result.structuredContent.text;
seen.listed = (await client.experimental.tasks.listTasks()).tasks.map((t) => t.taskId);
check(seen.listed.includes(slow.taskId), "tasks/list misses the task");

// 2. An approval asked during tasks/result.
const flow = await streamed({ name: "chat", arguments: { agent: "flow:agent_research", message: "mail" } });
seen.asked = asked.length;
check(flow.result.structuredContent, `no structured result: ${JSON.stringify(flow.result)} after ${flow.kinds}`);
seen.flowText = flow.result.structuredContent.text;

// 3. cancelTask.
const stream = client.experimental.tasks.callToolStream({ name: "chat", arguments: { agent, message: "stop me" } });
const first = await stream.next();
check(first.value.type === "taskCreated", `expected taskCreated, got ${first.value.type}`);
const cancelled = await client.experimental.tasks.cancelTask(first.value.task.taskId);
seen.cancelled = cancelled.status;
await stream.return();

await new Promise((resolve) => setTimeout(resolve, 300));
seen.statuses = statuses;
await client.close();
console.log(JSON.stringify(seen));
