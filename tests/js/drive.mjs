// Drives agentdeck with the official TypeScript MCP client, as a client nobody here wrote.
//
//   node drive.mjs stdio <command> <arg>...    start agentdeck over stdio with that command
//   node drive.mjs http <url>                  connect to a running agentdeck over Streamable HTTP
//
// Checks, in order: every tool's input and output schema compiles under a strict JSON
// Schema 2020-12 validator; a local echo agent answers two turns of one conversation;
// its transcript resource reads, and after subscribing, the next turn announces it as
// updated; bad arguments come back as isError with readable text. Prints one JSON line
// with what it saw; any failure exits 1 with the reason on stderr.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const WAIT_MS = 10000;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function transportFor(argv) {
  const [kind, ...rest] = argv;
  if (kind === "stdio") {
    return new StdioClientTransport({ command: rest[0], args: rest.slice(1), stderr: "inherit" });
  }
  if (kind === "http") return new StreamableHTTPClientTransport(new URL(rest[0]), { fetch: fetchOnFreshSocket });
  throw new Error(`usage: drive.mjs stdio <command> <args...> | http <url> (got ${kind})`);
}

// Node's fetch reuses an idle keep-alive socket; if the server closes it at that very
// moment (uvicorn's 5 s keep-alive, easily hit on a loaded CI machine), the request fails
// with "other side closed" before the server read it. Send it once more in that case only.
async function fetchOnFreshSocket(url, init) {
  try {
    return await fetch(url, init);
  } catch (error) {
    if (!/other side closed/.test(String(error?.cause?.message))) throw error;
    return await fetch(url, init);
  }
}

function textOf(result) {
  return (result.content ?? []).map((block) => block.text ?? "").join(" ");
}

async function call(client, name, args) {
  const result = await client.callTool({ name, arguments: args });
  check(!result.isError, `${name} failed: ${textOf(result)}`);
  return result.structuredContent;
}

const client = new Client({ name: "agentdeck-js-check", version: "1.0.0" });
await client.connect(transportFor(process.argv.slice(2)));
const seen = {};

// 1. Every schema compiles under strict draft 2020-12; results are checked against them.
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const { tools } = await client.listTools();
const validators = {};
for (const tool of tools) {
  ajv.compile(tool.inputSchema);
  if (tool.outputSchema) validators[tool.name] = ajv.compile(tool.outputSchema);
}
seen.tools = tools.length;
seen.schemas = tools.length + Object.keys(validators).length;

function validated(name, structured) {
  const validate = validators[name];
  if (validate) check(validate(structured), `${name} result does not fit its schema: ${ajv.errorsText(validate.errors)}`);
  return structured;
}

// 2. A local echo agent, two turns in one conversation.
const agent = validated("create_agent", await call(client, "create_agent", { backend: "local", name: "js-echo", model: "echo" }));
const first = validated("chat", await call(client, "chat", { agent: agent.ref, message: "first words" }));
const chatTool = tools.find((tool) => tool.name === "chat");
const continuing = "conversation" in chatTool.inputSchema.properties
  ? { conversation: first.conversation }
  : { conversation_id: first.conversation_id };
const second = validated("chat", await call(client, "chat", { agent: agent.ref, message: "second words", ...continuing }));
check(second.conversation === first.conversation, "the second turn started another conversation");
check(second.text.includes("first words"), `the second turn did not see the first: ${second.text}`);
seen.turns = [first.text, second.text];

// 3. The transcript resource: read it, subscribe, and hear about the next turn.
const [backend, conversationId] = [first.conversation.split(":")[0], first.conversation.split(":").slice(1).join(":")];
const uri = `agentdeck://${backend}/conversations/${conversationId}`;
const read = await client.readResource({ uri });
check(read.contents[0].text.includes("second words"), "the transcript lacks the second turn");
let announce;
const updated = new Promise((resolve) => { announce = resolve; });
client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
  if (notification.params.uri === uri) announce(notification.params.uri);
});
await client.subscribeResource({ uri });
await call(client, "chat", { agent: agent.ref, message: "third words", ...continuing });
const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("no resources/updated within 10 s")), WAIT_MS));
seen.updated = await Promise.race([updated, timeout]);

// 4. Bad arguments: isError with readable text.
const bad = await client.callTool({ name: "chat", arguments: { agent: agent.ref } });
check(bad.isError === true, "a chat without a message did not fail");
seen.bad_arguments = textOf(bad);
check(seen.bad_arguments.includes('"message" is required'), `unreadable argument error: ${seen.bad_arguments}`);
check(!/pydantic|validation error/i.test(seen.bad_arguments), `pydantic wording leaked: ${seen.bad_arguments}`);

await client.close();
console.log(JSON.stringify(seen));
process.exit(0);
