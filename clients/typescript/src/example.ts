/**
 * A small typed client of the 综治中心 API: sign in, register a dispute idempotently, read it,
 * page through the list, schedule a mediation session, and log a hotline call that becomes a
 * case. Every path, parameter, body and answer is checked by `tsc` against the types
 * generated from openapi.json (`npm run generate`), so a contract change that breaks this
 * code fails `make ts-check`.
 */
import createClient, { type Client } from "openapi-fetch";

import type { components, paths } from "./generated/schema";

type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
/** The token endpoint's errors: RFC 6749 §5.2 `{error, error_description}`, not problem+json. */
export type OAuthError = Schemas["OAuthErrorOut"];
export type CaseCreate = Schemas["CaseCreate"];
export type CaseOut = Schemas["CaseOut"];
export type CaseListItem = Schemas["CaseListItem"];
export type CaseStatus = Schemas["CaseStatus"];
export type SessionCreate = Schemas["SessionCreate"];
export type SessionOut = Schemas["SessionOut"];
export type CallCreate = Schemas["CallCreate"];
export type CallOut = Schemas["CallOut"];
export type CallEventOut = Schemas["CallEventOut"];
type TokenForm =
  paths["/api/v1/auth/token"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"];

export type Api = Client<paths>;

/** An error answer of the API: always RFC 9457 problem+json. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${problem.status} ${problem.title}: ${problem.detail ?? ""} (request ${problem.request_id ?? "?"})`);
  }

  /** Seconds to wait before retrying (429), if the server said. */
  retryAfter(response: Response): number | null {
    const value = response.headers.get("Retry-After");
    return value === null ? null : Number(value);
  }
}

/** A problem's stable code: what a client branches on (never the prose of `detail`). */
export type ProblemCode = Problem["code"];

function fail(response: Response, problem: Problem | undefined): never {
  const code: ProblemCode = response.status >= 500 ? "internal-server-error" : "bad-request";
  throw new ApiProblem(response.status, problem ?? { type: "about:blank", code, title: response.statusText, status: response.status });
}

function isOAuthError(error: OAuthError | Problem | undefined): error is OAuthError {
  return error !== undefined && typeof error.error === "string" && !("status" in error);
}

/** A refused token request: its OAuth2 error (or a 429 problem) as an ApiProblem. */
function failSignIn(response: Response, error: OAuthError | Problem | undefined): never {
  if (isOAuthError(error)) {
    const code: ProblemCode = error.error === "invalid_client" ? "unauthorized" : "bad-request";
    fail(response, { type: `urn:ietf:params:oauth:error:${error.error}`, code, title: error.error, status: response.status, detail: error.error_description });
  }
  fail(response, error);
}

/** OAuth2 token request (form-encoded): the password grant for staff. */
export async function signIn(baseUrl: string, username: string, password: string): Promise<Api> {
  const anonymous = createClient<paths>({ baseUrl });
  const form: TokenForm = { grant_type: "password", username, password };
  const { data, error, response } = await anonymous.POST("/api/v1/auth/token", {
    body: form,
    bodySerializer: (body) => new URLSearchParams(Object.entries(body).filter(([, v]) => v != null) as [string, string][]),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  if (data === undefined) failSignIn(response, error);
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${data.access_token}` } });
}

/** Other systems: the client-credentials grant with scopes. */
export async function signInAsSystem(baseUrl: string, clientId: string, secret: string): Promise<Api> {
  const anonymous = createClient<paths>({ baseUrl });
  const form: TokenForm = {
    grant_type: "client_credentials",
    client_id: clientId,
    client_secret: secret,
    scope: "cases:create cases:read",
  };
  const { data, error, response } = await anonymous.POST("/api/v1/auth/token", {
    body: form,
    bodySerializer: (body) => new URLSearchParams(Object.entries(body).filter(([, v]) => v != null) as [string, string][]),
  });
  if (data === undefined) failSignIn(response, error);
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${data.access_token}` } });
}

/** Registers a dispute; sending the same Idempotency-Key (or, for an integration client, the
 * same `external_ref`) again gives the case already created instead of a second one. */
export async function registerCase(api: Api, key: string, unitId: string, externalRef?: string): Promise<CaseOut> {
  const body: CaseCreate = {
    title: "楼上漏水纠纷",
    facts: "1号楼1单元502室卫生间漏水，楼下402室天花板受损，双方协商未果。",
    category: "neighbourhood",
    source: "grid_report",
    unit_id: unitId,
    ...(externalRef === undefined ? {} : { external_ref: externalRef }),
    parties: [
      { kind: "person", side: "applicant", name: "张三", phone: "13900001111" },
      { kind: "person", side: "respondent", name: "李四" },
    ],
  };
  const { data, error, response } = await api.POST("/api/v1/cases", {
    params: { header: { "Idempotency-Key": key } },
    body,
  });
  if (data === undefined) fail(response, error);
  return data;
}

/** The case's status and its running deadline, with the ETag for a later change. */
export async function caseStatus(api: Api, caseId: string): Promise<{ status: CaseStatus; due: string | null; etag: string | null }> {
  const { data, error, response } = await api.GET("/api/v1/cases/{case_id}", {
    params: { path: { case_id: caseId } },
  });
  if (data === undefined) fail(response, error);
  return { status: data.status, due: data.due_at, etag: response.headers.get("ETag") };
}

/** Every open case of the caller's jurisdiction, page by page (cursor pagination). */
export async function* openCases(api: Api): AsyncGenerator<CaseListItem> {
  let cursor: string | undefined;
  do {
    const { data, error, response } = await api.GET("/api/v1/cases", {
      params: { query: { status: ["received", "accepted", "assigned", "in_mediation"], sort: "newest", limit: 50, cursor } },
    });
    if (data === undefined) fail(response, error);
    yield* data.items;
    cursor = data.next_cursor ?? undefined;
  } while (cursor !== undefined);
}

/** A mediation session for the case, led by one mediator. */
export async function scheduleSession(api: Api, caseId: string, mediatorId: string): Promise<SessionOut> {
  const body: SessionCreate = {
    kind: "people",
    mode: "on_site",
    starts_at: "2026-11-28T09:30:00+08:00",
    ends_at: "2026-11-28T11:00:00+08:00",
    place: "先锋社区调解室",
    mediators: [{ person_id: mediatorId, lead: true }],
  };
  const { data, error, response } = await api.POST("/api/v1/cases/{case_id}/sessions", {
    params: { path: { case_id: caseId }, header: { "Idempotency-Key": crypto.randomUUID() } },
    body,
  });
  if (data === undefined) fail(response, error);
  return data;
}

/** Sessions of one case, soonest first. */
export async function sessionsOf(api: Api, caseId: string): Promise<string[]> {
  const { data, error, response } = await api.GET("/api/v1/sessions", {
    params: { query: { case_id: caseId, limit: 50 } },
  });
  if (data === undefined) fail(response, error);
  return data.items.map((s) => `${s.starts_at} ${s.place ?? ""} (${s.status})`);
}

/** A hotline call that needs a mediator: logged, then opened as a case (If-Match: its ETag). */
export async function callToCase(api: Api, unitId: string): Promise<{ call: CallOut; caseNumber: string }> {
  const call: CallCreate = {
    started_at: "2026-11-26T09:40:00+08:00",
    ended_at: "2026-11-26T09:58:00+08:00",
    call_type: "valid",
    channel: "phone",
    risk_level: "low",
    topics: ["family_relationship"],
    summary: "来电人与配偶因家庭财产分配发生争执，希望社区调解。",
  };
  const created = await api.POST("/api/v1/hotline/calls", {
    params: { header: { "Idempotency-Key": crypto.randomUUID() } },
    body: call,
  });
  if (created.data === undefined) fail(created.response, created.error);
  const opened = await api.POST("/api/v1/hotline/calls/{call_id}/open-case", {
    params: {
      path: { call_id: created.data.id },
      header: { "If-Match": created.response.headers.get("ETag") ?? "", "Idempotency-Key": crypto.randomUUID() },
    },
    body: {
      title: "婚姻家庭纠纷",
      facts: "来电人与配偶因家庭财产分配发生争执，希望社区调解。",
      category: "marriage_family",
      unit_id: unitId,
      parties: [{ kind: "person", side: "applicant", name: "王女士" }],
    },
  });
  if (opened.data === undefined) fail(opened.response, opened.error);
  return { call: opened.data.call, caseNumber: opened.data.case_number };
}

/** A call's timeline in its order (`seq`), page by page: every timeline is a list. */
export async function* callTimeline(api: Api, callId: string): AsyncGenerator<CallEventOut> {
  let cursor: string | undefined;
  do {
    const { data, error, response } = await api.GET("/api/v1/hotline/calls/{call_id}/timeline", {
      params: { path: { call_id: callId }, query: { limit: 200, cursor } },
    });
    if (data === undefined) fail(response, error);
    yield* data.items;
    cursor = data.next_cursor ?? undefined;
  } while (cursor !== undefined);
}

export async function main(baseUrl: string): Promise<void> {
  const dispatcher = await signIn(baseUrl, "dispatcher", "demo-password");
  const me = await dispatcher.GET("/api/v1/me");
  if (me.data === undefined) fail(me.response, me.error);
  const unitId = me.data.grants[0]?.unit_id;
  if (unitId === undefined) throw new Error("the dispatcher holds no role");
  const key = crypto.randomUUID();
  let registered: CaseOut;
  try {
    // Staff do not send an integration client's `external_ref`: a problem with its own code.
    registered = await registerCase(dispatcher, crypto.randomUUID(), unitId, "WGH-2026-000123");
  } catch (problem) {
    if (!(problem instanceof ApiProblem) || problem.problem.code !== "external-ref-not-for-people") throw problem;
    console.log(`refused as expected: ${problem.problem.code} (${problem.problem.detail ?? ""})`);
    registered = await registerCase(dispatcher, key, unitId);
  }
  // The same key again: the same case, not a second one.
  const again = await registerCase(dispatcher, key, unitId);
  if (again.id !== registered.id) throw new Error("the Idempotency-Key did not replay");
  const { status, due } = await caseStatus(dispatcher, registered.id);
  console.log(`${registered.number}: ${status}, due ${due ?? "-"}`);
  for await (const item of openCases(dispatcher)) console.log(item.number, item.status);
  const mediator = me.data.person_id;
  if (mediator) {
    await scheduleSession(dispatcher, registered.id, mediator);
    console.log(await sessionsOf(dispatcher, registered.id));
  }
  const counselor = await signIn(baseUrl, "counselor", "demo-password");
  const { call, caseNumber } = await callToCase(counselor, unitId);
  console.log(`hotline call opened as ${caseNumber}`);
  for await (const entry of callTimeline(counselor, call.id)) console.log(entry.seq, entry.kind, entry.at);
}
