// A host written with the TypeScript SDK drives the server over stdio and reports what it saw.
//
// Usage: node ts_client.mjs '<json plan>'  (run from a directory whose node_modules holds
// @modelcontextprotocol/sdk). The plan names the server command and, per tool, the
// arguments to call it with ("$conversation_id" is replaced by the id ask_copilot returned).
// Every result passes the SDK's own output-schema check (callTool throws otherwise), and
// every published schema is compiled by Ajv in strict mode, whose warnings are collected.
// Prints one JSON report on stdout.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { Ajv } from "ajv";

const plan = JSON.parse(process.argv[2]);
const warnings = [];
const strict = new Ajv({ strict: true, allErrors: true, logger: { log() {}, warn: (m) => warnings.push(String(m)), error: (m) => warnings.push(String(m)) } });

// Constructs some hosts' validators warn on or refuse: a list as `type`, and `$ref` (unresolved by some).
function unportable(node, path = "#") {
  if (Array.isArray(node)) return node.flatMap((item, i) => unportable(item, `${path}/${i}`));
  if (node === null || typeof node !== "object") return [];
  const found = [];
  if (Array.isArray(node.type)) found.push(`${path}: type is a list`);
  if ("$ref" in node) found.push(`${path}: $ref`);
  for (const [key, value] of Object.entries(node)) found.push(...unportable(value, `${path}/${key}`));
  return found;
}

const client = new Client({ name: "copilot-tools-ts-test", version: "1.0.0" });
const transport = new StdioClientTransport({ command: plan.command[0], args: plan.command.slice(1), env: plan.env, stderr: "pipe" });
await client.connect(transport);

const report = { protocolVersion: transport._protocolVersion ?? null, server: client.getServerVersion(), tools: {}, calls: {}, prompts: {}, errors: {} };
const { tools } = await client.listTools();
for (const tool of tools) {
  const compiled = {};
  for (const key of ["inputSchema", "outputSchema"]) {
    try {
      strict.compile(tool[key]);
      compiled[key] = "ok";
    } catch (error) {
      compiled[key] = String(error.message ?? error);
    }
  }
  const notPortable = [...unportable(tool.inputSchema), ...unportable(tool.outputSchema ?? {})];
  report.tools[tool.name] = { annotations: tool.annotations, icons: (tool.icons ?? []).length, compiled, notPortable, hasOutputSchema: Boolean(tool.outputSchema) };
}

let conversationId = null;
for (const [name, args] of Object.entries(plan.calls)) {
  const filled = JSON.parse(JSON.stringify(args).replaceAll("$conversation_id", conversationId ?? ""));
  try {
    const result = await client.callTool({ name, arguments: filled }, undefined, { timeout: 60000 });
    if (name === "ask_copilot" && result.structuredContent) conversationId = result.structuredContent.conversation_id;
    report.calls[name] = {
      isError: Boolean(result.isError),
      validated: true,
      notice: result.structuredContent?.notice ?? null,
      links: result.content.filter((c) => c.type === "resource_link").map((c) => ({ uri: c.uri, name: c.name, title: c.title, mimeType: c.mimeType ?? null })),
      text: result.content.find((c) => c.type === "text")?.text ?? "",
      meta: result._meta ?? null,
    };
  } catch (error) {
    report.calls[name] = { isError: true, validated: false, thrown: String(error.message ?? error) };
  }
}

const { prompts } = await client.listPrompts();
for (const prompt of prompts) {
  const args = plan.prompts[prompt.name] ?? {};
  const got = await client.getPrompt({ name: prompt.name, arguments: args });
  report.prompts[prompt.name] = { title: prompt.title ?? null, arguments: prompt.arguments ?? [], messages: got.messages.length, text: got.messages[0]?.content?.text ?? "" };
}
try {
  await client.getPrompt({ name: "no_such_prompt", arguments: {} });
  report.errors.unknownPrompt = null;
} catch (error) {
  report.errors.unknownPrompt = { code: error.code, message: String(error.message) };
}
report.strictWarnings = warnings;
await client.close();
process.stdout.write(JSON.stringify(report));
