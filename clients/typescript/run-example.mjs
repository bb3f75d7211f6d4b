// Runs the compiled typed example (`make ts-example`) against a running API:
//   node run-example.mjs http://127.0.0.1:8000
// The API needs the demo accounts (`make run DEMO=1`).
const { main } = await import(new URL("./.run/example.js", import.meta.url).href);
const baseUrl = process.argv[2] ?? "http://127.0.0.1:8000";
await main(baseUrl);
console.log(`typed example: passed against ${baseUrl}`);
