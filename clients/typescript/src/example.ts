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
/** Accept (受理) a received case: a life-cycle action, guarded by the ETag just read. */
export async function acceptCase(api: Api, caseId: string, etag: string): Promise<CaseOut> {
  const { data, error, response } = await api.POST("/api/v1/cases/{case_id}/accept", {
    params: {
      path: { case_id: caseId },
      header: { "If-Match": etag, "Idempotency-Key": crypto.randomUUID() },
    },
    body: { note: "符合受理条件" },
  });
  if (data === undefined) fail(response, error);
  return data;
}

/** `days` from today at `hour`:`minute` in China Standard Time, as RFC 3339. */
export function dayAt(days: number, hour: number, minute: number): string {
  const wall = new Date(Date.now() + 8 * 3_600_000); // UTC+8 wall clock, read with getUTC*
  const day = Date.UTC(wall.getUTCFullYear(), wall.getUTCMonth(), wall.getUTCDate() + days, hour, minute);
  return `${new Date(day).toISOString().slice(0, 16)}:00+08:00`;
}

/** Book the first free morning from tomorrow on: a `double-booking` problem (the mediator or
 * the room is taken then) moves on to the next day; any other problem is thrown. */
export async function scheduleSession(api: Api, caseId: string, mediatorId: string): Promise<SessionOut> {
  for (let days = 1; ; days++) {
    const body: SessionCreate = {
      kind: "people",
      mode: "on_site",
      starts_at: dayAt(days, 9, 30),
      ends_at: dayAt(days, 11, 0),
      // Not public unless said so; a private session names why (人民调解法第二十三条).
      is_public: false,
      privacy_reason: "party_request",
      place: "先锋社区调解室",
      mediators: [{ person_id: mediatorId, lead: true }],
    };
    const { data, error, response } = await api.POST("/api/v1/cases/{case_id}/sessions", {
      params: { path: { case_id: caseId }, header: { "Idempotency-Key": crypto.randomUUID() } },
      body,
    });
    if (data !== undefined) return data;
    if (error?.code !== "double-booking" || days >= 30) fail(response, error);
  }
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
  const minutesAgo = (n: number): string => new Date(Date.now() - n * 60_000).toISOString();
  const call: CallCreate = {
    started_at: minutesAgo(30),
    ended_at: minutesAgo(12),
    call_type: "valid",
    channel: "phone",
    risk_level: "low",
    // A risk level comes with the assessment it rests on.
    risk_assessment: {
      suicidal_desire: false,
      suicidal_capability: false,
      suicidal_intent: false,
      buffers: ["social_support"],
    },
    topics: ["marriage_family"],
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
  // The people's mediator who will lead the session (the demo account `mediator`); the
  // dispute is registered in the street that mediator serves.
  const mediatorMe = await (await signIn(baseUrl, "mediator", "demo-password")).GET("/api/v1/me");
  if (mediatorMe.data === undefined) fail(mediatorMe.response, mediatorMe.error);
  const street = mediatorMe.data.grants[0]?.unit_id ?? unitId;
  const key = crypto.randomUUID();
  let registered: CaseOut;
  try {
    // Staff do not send an integration client's `external_ref`: a problem with its own code.
    registered = await registerCase(dispatcher, crypto.randomUUID(), street, "WGH-2026-000123");
  } catch (problem) {
    if (!(problem instanceof ApiProblem) || problem.problem.code !== "external-ref-not-for-people") throw problem;
    console.log(`refused as expected: ${problem.problem.code} (${problem.problem.detail ?? ""})`);
    registered = await registerCase(dispatcher, key, street);
  }
  // The same key again: the same case, not a second one.
  const again = await registerCase(dispatcher, key, street);
  if (again.id !== registered.id) throw new Error("the Idempotency-Key did not replay");
  const { status, due, etag } = await caseStatus(dispatcher, registered.id);
  console.log(`${registered.number}: ${status}, due ${due ?? "-"}`);
  for await (const item of openCases(dispatcher)) console.log(item.number, item.status);
  const mediator = mediatorMe.data.person_id;
  if (mediator && etag) {
    // Sessions are planned for accepted cases only.
    await acceptCase(dispatcher, registered.id, etag);
    await scheduleSession(dispatcher, registered.id, mediator);
    console.log(await sessionsOf(dispatcher, registered.id));
  }
  const counselor = await signIn(baseUrl, "counselor", "demo-password");
  // A case opened from a call belongs to the counselor's own jurisdiction (the workstation).
  const counselorMe = await counselor.GET("/api/v1/me");
  if (counselorMe.data === undefined) fail(counselorMe.response, counselorMe.error);
  const workstation = counselorMe.data.grants[0]?.unit_id ?? unitId;
  const { call, caseNumber } = await callToCase(counselor, workstation);
  console.log(`hotline call opened as ${caseNumber}`);
  for await (const entry of callTimeline(counselor, call.id)) console.log(entry.seq, entry.kind, entry.at);
}
