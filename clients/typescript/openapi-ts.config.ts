import { defineConfig } from "@hey-api/openapi-ts";

// The second generator frontends use: an SDK (one function per operation) with its own
// fetch client, generated from the same openapi.json into src/generated/hey (not committed).
export default defineConfig({
  input: "../../openapi.json",
  output: "src/generated/hey",
  plugins: ["@hey-api/client-fetch", "@hey-api/typescript", "@hey-api/sdk"],
});
