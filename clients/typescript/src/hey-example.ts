/**
 * The same flow with the second generator frontends use, @hey-api/openapi-ts (an SDK: one
 * function per operation, `npx openapi-ts` → src/generated/hey): sign in, page a filtered
 * list, create a case with an Idempotency-Key, and branch on a problem's `code`.
 */
import { createClient, createConfig } from "./generated/hey/client";
import { authToken, casesCreate, casesList, meGet } from "./generated/hey/sdk.gen";
import type { CaseCreate, CaseListItem, Problem } from "./generated/hey/types.gen";

type Client = ReturnType<typeof createClient>;

export async function heySignIn(baseUrl: string, username: string, password: string): Promise<Client> {
  const anonymous = createClient(createConfig({ baseUrl }));
  const { data, error } = await authToken({ client: anonymous, body: { grant_type: "password", username, password } });
  if (data === undefined) throw new Error(`sign-in refused: ${JSON.stringify(error)}`);
  return createClient(createConfig({ baseUrl, headers: { Authorization: `Bearer ${data.access_token}` } }));
}

export async function* heyReceivedCases(client: Client): AsyncGenerator<CaseListItem> {
  let cursor: string | undefined;
  do {
    const { data, error } = await casesList({ client, query: { status: ["received"], limit: 50, cursor } });
    if (data === undefined) throw new Error(`list refused: ${JSON.stringify(error)}`);
    yield* data.items;
    cursor = data.next_cursor ?? undefined;
  } while (cursor !== undefined);
}

/** A case, or the problem's code when the center refuses it. */
export async function heyRegister(client: Client, body: CaseCreate): Promise<{ id: string } | { code: Problem["code"] }> {
  const { data, error } = await casesCreate({ client, body, headers: { "Idempotency-Key": crypto.randomUUID() } });
  if (data !== undefined) return { id: data.id };
  if (error !== undefined && "code" in error) return { code: error.code };
  throw new Error("no answer");
}

export async function heyMain(baseUrl: string): Promise<void> {
  const client = await heySignIn(baseUrl, "dispatcher", "demo-password");
  const me = await meGet({ client });
  const unitId = me.data?.grants[0]?.unit_id;
  if (unitId === undefined) throw new Error("the dispatcher holds no role");
  const dispute: CaseCreate = {
    title: "楼上漏水纠纷",
    facts: "1号楼1单元502室卫生间漏水，楼下402室天花板受损。",
    category: "neighbourhood",
    source: "grid_report",
    unit_id: unitId,
    parties: [{ kind: "person", side: "applicant", name: "张三" }],
  };
  const refused = await heyRegister(client, { ...dispute, external_ref: "X-1" });
  if (!("code" in refused) || refused.code !== "external-ref-not-for-people") throw new Error("expected a problem");
  const created = await heyRegister(client, dispute);
  if (!("id" in created)) throw new Error(`refused: ${created.code}`);
  for await (const item of heyReceivedCases(client)) console.log(item.number, item.status);
}
