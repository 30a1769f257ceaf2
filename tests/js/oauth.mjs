// The official TypeScript MCP client doing the whole OAuth flow against agentdeck:
//
//   node oauth.mjs <url of agentdeck's /mcp>
//   node oauth.mjs <url> <agent ref>     as a user first granted only agentdeck:read
//
// Its first request gets a 401 naming the protected-resource metadata; the SDK's auth()
// discovers the authorization server from it, registers a client (RFC 7591), and sends
// the user to authorize with PKCE and the `resource` parameter. The test authorization
// server approves at once, so "sending the user" is fetching the authorize URL and
// reading the code from its redirect. With the token, the client lists the tools, makes
// a local agent and chats with it. Prints one JSON line with what it saw.
//
// With an agent ref, the user's first token has only the read scope: the tool list has
// no chat, and calling chat gets a 403 naming the scope it needs; the SDK asks for it
// (step-up authorization), and the call succeeds with the new token.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const REDIRECT = "http://127.0.0.1:9/callback"; // never visited: the code is read from the redirect
const url = new URL(process.argv[2]);
const readerAgent = process.argv[3];
const seen = {};

function check(condition, message) {
  if (!condition) throw new Error(message);
}

class InMemoryProvider {
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata() {
    return {
      client_name: "agentdeck oauth test",
      redirect_uris: [REDIRECT],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(client) {
    this.client = client;
    seen.registered = Boolean(client.client_id);
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens) {
    this.saved = tokens;
  }
  saveCodeVerifier(verifier) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  async redirectToAuthorization(authorizationUrl) {
    const asked = authorizationUrl.searchParams;
    seen.asked = [...(seen.asked ?? []), asked.get("scope")];
    seen.pkce = asked.get("code_challenge_method");
    seen.resource = asked.get("resource");
    seen.scope = asked.get("scope");
    const answer = await fetch(authorizationUrl, { redirect: "manual" });
    check(answer.status === 302, `authorize answered ${answer.status}`);
    this.code = new URL(answer.headers.get("location")).searchParams.get("code");
  }
}

const provider = new InMemoryProvider();
let transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
let client = new Client({ name: "agentdeck-js-oauth", version: "1.0.0" });
try {
  await client.connect(transport);
  throw new Error("connected without signing in");
} catch (error) {
  if (!(error instanceof UnauthorizedError)) throw error;
}
check(provider.code, "the authorization server gave no code");
await transport.finishAuth(provider.code);
seen.token = Boolean(provider.saved?.access_token);

transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
client = new Client({ name: "agentdeck-js-oauth", version: "1.0.0" });
await client.connect(transport);
seen.tools = (await client.listTools()).tools.map((tool) => tool.name);
if (readerAgent) {
  const chat = { name: "chat", arguments: { agent: readerAgent, message: "stepped up" } };
  try {
    await client.callTool(chat);
    throw new Error("a reader chatted");
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
  }
  await transport.finishAuth(provider.code);
  const reply = await client.callTool(chat);
  check(!reply.isError, `chat failed: ${JSON.stringify(reply.content)}`);
  seen.reply = reply.structuredContent.text;
  await client.close();
  console.log(JSON.stringify(seen));
  process.exit(0);
}
const made = await client.callTool({ name: "create_agent", arguments: { backend: "local", name: "Js" } });
check(!made.isError, `create_agent failed: ${JSON.stringify(made.content)}`);
const reply = await client.callTool({
  name: "chat",
  arguments: { agent: made.structuredContent.ref, message: "over oauth" },
});
check(!reply.isError, `chat failed: ${JSON.stringify(reply.content)}`);
seen.reply = reply.structuredContent.text;
await client.close();
console.log(JSON.stringify(seen));
