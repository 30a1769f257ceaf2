// Times tools/list at the official TypeScript MCP client, for bench/run.py's tools section.
//
//   node bench/list_tools.mjs <repeats> <command> <args...>
//
// The clients people use (Claude Desktop, VS Code, Cursor) are TypeScript on this SDK, so
// what a list of many tools costs them is its cost here, not at the Python SDK's client.
// Starts the server over stdio, connects, lists once (the first list) and <repeats> more
// times, each list following nextCursor to the end, and prints one JSON line:
// {"tools": N, "first_ms": x, "ms": [...]}; a failure exits 1 with its reason on stderr.
// The SDK is the one tests/js installs, found relative to this file so that any working
// directory will do.
import { Client } from "../tests/js/node_modules/@modelcontextprotocol/sdk/dist/esm/client/index.js";
import { StdioClientTransport } from "../tests/js/node_modules/@modelcontextprotocol/sdk/dist/esm/client/stdio.js";

// One whole list, every page: its tool count and milliseconds.
async function listAll(client) {
  const started = performance.now();
  let tools = 0;
  let cursor;
  do {
    const page = await client.listTools(cursor ? { cursor } : undefined);
    tools += page.tools.length;
    cursor = page.nextCursor;
  } while (cursor);
  return [tools, performance.now() - started];
}

const [repeats, command, ...args] = process.argv.slice(2);
if (!command || !(Number(repeats) >= 0)) {
  console.error("usage: node bench/list_tools.mjs <repeats> <command> <args...>");
  process.exit(2);
}
const client = new Client({ name: "agentdeck-bench", version: "0" });
try {
  // The whole environment, as the Python contenders get it (the SDK passes only a few names).
  await client.connect(new StdioClientTransport({ command, args, env: process.env, stderr: "ignore" }));
  const [tools, first] = await listAll(client);
  const times = [];
  for (let i = 0; i < Number(repeats); i++) times.push((await listAll(client))[1]);
  await client.close();
  console.log(JSON.stringify({ tools, first_ms: first, ms: times }));
  process.exit(0);
} catch (error) {
  console.error(String(error)); // one line for the bench to print, not a stack
  process.exit(1);
}
