// views.js: one render function per view.  Each reads the JSON read API
// (already presented for the session's token by milepostd) and builds DOM
// with textContent only: nothing from the ledger is ever parsed as HTML.
// State is always shown as an icon and a word, never by colour alone.

export function h(tag, attrs, ...kids) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {}))
		if (v === true)
			e.setAttribute(k, "");
		else if (v !== false && v != null)
			e.setAttribute(k, v);
	for (const k of kids.flat(Infinity))
		if (k != null)
			e.append(k instanceof Node ? k : String(k));
	return e;
}

export function say(msg) {
	const l = document.getElementById("live");
	if (l)
		l.textContent = "Live · " + msg;
}

const STATES = {
	verified: ["✔", "s-ok"], deployed: ["✓", "s-ok"], recovered: ["✔", "s-ok"],
	reverted: ["↺", "s-warn"], in_progress: ["◐", "s-run"], planned: ["○", "s-run"],
	failed: ["✖", "s-bad"], stalled: ["⏸", "s-warn"], blocked: ["⛔", "s-warn"],
	rolling_back: ["↺", "s-warn"], partially_restored: ["◑", "s-warn"],
	rollback_failed: ["✖", "s-bad"], manual_intervention: ["✋", "s-bad"],
	partially_deployed: ["◑", "s-warn"], on_track: ["✔", "s-ok"],
	at_risk: ["⚠", "s-warn"], late: ["✖", "s-bad"], delivered: ["✔", "s-ok"],
	missed: ["✖", "s-bad"], ok: ["✔", "s-ok"], ticket: ["⚠", "s-warn"],
	page: ["✖", "s-bad"], exhausted: ["✖", "s-bad"], done: ["✔", "s-ok"],
	pending: ["◐", "s-run"], dead: ["✖", "s-bad"],
	open: ["✔", "s-ok"], closed: ["⛔", "s-bad"],
};
export function state(s) {
	const [icon, cls] = STATES[s] || ["•", ""];
	return h("span", { class: `state ${cls}`, "data-state": s },
	    h("span", { "aria-hidden": "true" }, icon + " "), String(s).replace(/_/g, " "));
}

export function age(t) {
	if (!t)
		return "";
	const s = Math.max(0, (Date.now() - Date.parse(t)) / 1000);
	const v = s < 90 ? [Math.round(s), "s"] : s < 5400 ? [Math.round(s / 60), "min"] :
	    s < 129600 ? [Math.round(s / 3600), "h"] : [Math.round(s / 86400), "d"];
	return h("time", { datetime: t, title: t }, `${v[0]} ${v[1]} ago`);
}

const short = (sha) => sha ? String(sha).slice(0, 7) : "";
const fmt = (t) => t ? t.replace("T", " ").replace(/\.\d+Z$/, "Z") : "—";
const secs = (n) => n == null ? "—" : n < 120 ? `${Math.round(n)} s` :
    n < 7200 ? `${(n / 60).toFixed(1)} min` : n < 172800 ?
    `${(n / 3600).toFixed(1)} h` : `${(n / 86400).toFixed(1)} d`;

function table(caption, head, rows) {
	return h("table", {}, h("caption", { class: "muted" }, caption),
	    h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
	    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))));
}

// The current deployment of each (service, environment): from the catalog
// (GET /v1/services) when there is one, else from /v1/deployments.
async function cells(api, session) {
	const out = new Map(), envs = new Set(), svcs = [], tenants = {};
	const sv = await api("/v1/services").catch(() => ({ services: [] }));
	for (const s of sv.services || []) {
		svcs.push(s.service);
		if (s.tenants && s.tenants.length)
			tenants[s.service] = s.tenants.join(", ");
		for (const [env, e] of Object.entries(s.environments || {})) {
			envs.add(env);
			out.set(`${s.service}\u0000${env}`, { service: s.service,
			    environment: env, state: e.state, since: e.since,
			    id: e.deployment, version: e.revision,
			    incidents: Array.isArray(e.open_incidents) ? e.open_incidents.length : 0 });
		}
	}
	// The deployments list adds what the catalog lacks (a client's
	// catalog has no ids: its cells find theirs when opened).
	if (out.size > 0)
		return { cells: out, envs: envOrder(envs), services: svcs, tenants };
	const dl = await api("/v1/deployments?limit=1000");
	for (const d of dl.deployments) {
		const p = d.properties || {};
		const k = `${p.service}\u0000${p.environment}`;
		const c = out.get(k);
		const when = p.started || p.since;
		if (c && c.id && c.id !== d.id)
			continue;
		if (c && !c.id && c.when && c.when > when)
			continue;
		if (!svcs.includes(p.service))
			svcs.push(p.service);
		envs.add(p.environment);
		out.set(k, { ...(c || {}), service: p.service, environment: p.environment,
		    state: p.state, since: p.since, id: d.id, when,
		    version: p.release || (c && c.version) || p.revision,
		    incidents: c ? c.incidents : 0 });
	}
	return { cells: out, envs: envOrder(envs), services: svcs, tenants };
}

// Environments in the order a release moves through them, then by name.
export function envOrder(envs) {
	const order = ["development", "dev", "test", "qa", "staging", "preprod", "production", "prod"];
	const rank = (e) => order.includes(e) ? order.indexOf(e) : order.length;
	return [...envs].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export const views = {};

views.board = async (_, { api, session, out }) => {
	const { cells: c, envs, services, tenants } = await cells(api, session);
	out.append(h("h2", {}, "Deployments"));
	if (services.length === 0) {
		out.append(h("p", {}, "No deployments yet."));
		return;
	}
	const rows = services.map((s) => [h("th", { scope: "row" }, s,
	    tenants[s] ? [h("br"), h("span", { class: "muted tenant" }, `for ${tenants[s]}`)] : null),
	    ...envs.map((e) => {
		const x = c.get(`${s}\u0000${e}`);
		if (!x)
			return h("td", { class: "muted" }, "—");
		const label = `${s} in ${e}: ${x.state}` +
		    (x.incidents ? `, ${x.incidents} open incident${x.incidents > 1 ? "s" : ""}` : "") +
		    ". Open its history";
		const to = x.id ? `#/deployment/${encodeURIComponent(x.id)}` :
		    `#/current/${encodeURIComponent(s)}/${encodeURIComponent(e)}`;
		return h("td", { "data-service": s, "data-environment": e },
		    h("a", { class: "cell", href: to,
			"aria-label": label },
			state(x.state), h("br"),
			x.version && session.view === "engineer" ?
			    h("span", { class: "muted version" }, short(x.version), " ") : null,
			h("span", { class: "muted" }, age(x.since)),
			x.incidents ? [" ", h("span", { class: "badge" },
			    h("span", { "aria-hidden": "true" }, "⚠ "),
			    `${x.incidents} incident${x.incidents > 1 ? "s" : ""}`)] : null));
	})]);
	out.append(h("table", { id: "board" },
	    h("caption", { class: "muted" }, "Services × environments: each cell's current deployment"),
	    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Service"),
		envs.map((e) => h("th", { scope: "col" }, e)))),
	    h("tbody", {}, rows.map((r) => h("tr", {}, r)))));
};

views.deployment = async (id, { api, session, out }) => {
	const d = await api(`/v1/deployments/${id.split("/").map(encodeURIComponent).join("/")}`);
	const p = (d.deployment && d.deployment.properties) || {};
	out.append(h("p", {}, h("a", { href: "#/board" }, "← Deployments")),
	    h("h2", {}, `${p.service || ""} in ${p.environment || ""}`),
	    h("p", {}, "Now ", state(d.state), " since ", fmt(d.since),
		p.revision ? [" · revision ", h("code", {}, p.revision)] : null,
		p.release ? ` · release ${p.release}` : ""));
	const hs = d.history || [];
	// A client's history (the client view) has no actors, reasons or basis.
	if (!hs.some((r) => r.actor || r.reason || r.basis)) {
		out.append(table("History: every state it went through",
		    ["Revision", "State", "Since"],
		    hs.map((r) => [String(r.revision), state(r.state), fmt(r.since)])));
		return;
	}
	const rows = hs.map((r) => [String(r.revision), state(r.state),
	    fmt(r.since), r.actor || "—", r.reason || "—",
	    (r.basis || []).length ? (r.basis || []).map((b) => [h("a",
		{ href: `#/evidence/${b.seq}`, class: "basis" }, `${b.id} (#${b.seq})`), " "]) : "—"]);
	out.append(table("History: every transition with its actor, reason and the evidence it rests on",
	    ["Revision", "State", "Since", "Actor", "Reason", "Basis"], rows));
	if ((d.rejected || []).length)
		out.append(table("Refused transitions", ["Time", "Asked", "Why"],
		    d.rejected.map((r) => [fmt(r.time || r.recorded_at),
			(r.properties || r).attempted || "—", (r.properties || r).reason || "—"])));
};

// A cell without an id (a client's catalog shows none): the current
// deployment of (service, environment), as the deployments list has it.
views.current = async (arg, ctx) => {
	const [s, e] = arg.split("/");
	const dl = await ctx.api(`/v1/deployments?service=${encodeURIComponent(s)}&environment=${encodeURIComponent(e)}&limit=1000`);
	let cur = null;
	for (const d of dl.deployments) {
		const when = d.properties.started || d.properties.since;
		if (!cur || when > cur.when)
			cur = { id: d.id, when };
	}
	if (!cur) {
		ctx.out.append(h("p", {}, `No deployment of ${s} in ${e}.`));
		return;
	}
	await views.deployment(cur.id, ctx);
};

views.evidence = async (seq, { api, out }) => {
	const n = Number(seq);
	const r = await api(`/v1/evidence?after=${n - 1}&limit=1`);
	const e = r.evidence[0];
	const back = h("button", { type: "button" }, "← Back");
	back.addEventListener("click", () => history.back());
	out.append(h("p", {}, back));
	if (!e || e.seq !== n) {
		out.append(h("p", {}, `No evidence #${n}.`));
		return;
	}
	out.append(h("h2", { id: "evidence-title" }, `Evidence #${e.seq}: ${e.type}`),
	    table("The stored evidence, as the ledger holds it", ["Field", "Value"],
		[["id", e.id], ["type", e.type], ["subject", e.subject], ["source", e.source],
		 ["event time", fmt(e.time)], ["recorded", fmt(e.recorded_at)], ["hash", h("code", {}, e.hash)]]),
	    h("h3", {}, "Properties and links"),
	    h("pre", { tabindex: "0" }, JSON.stringify({ properties: e.properties, links: e.links }, null, 2)));
};

views.releases = async (_, { api, session, out }) => {
	const r = await api("/v1/releases");
	out.append(h("h2", {}, "Releases"));
	if (!r.releases.length) {
		out.append(h("p", {}, "No releases yet."));
		return;
	}
	out.append(table("Each release's composite status, what holds it back, and its regions",
	    ["Release", "State", "Holding it back", "Regions"],
	    r.releases.map((x) => {
		const p = x.properties || {}, comps = p.components || [];
		const done = (c) => c.state === "verified" || c.state === "recovered";
		// holding: the components' deployment ids not verified yet.
		const held = new Set(p.holding || comps.filter((c) => !done(c)).map((c) => c.deployment));
		const regions = {};
		for (const c of comps)
			(regions[c.region || "(no region)"] ||= []).push(c);
		return [x.id, state(p.state),
		    comps.filter((c) => held.has(c.deployment)).map((c) => h("div", { class: "holding" },
			`${c.service} ${c.environment}${c.region ? " " + c.region : ""}: `, state(c.state))),
		    Object.entries(regions).map(([g, cs]) => h("div", { class: "region", "data-region": g }, `${g}: `,
			cs.length === 1 ? state(cs[0].state) : cs.every(done) ? state("verified") :
			    state("partially_deployed")))];
	    })));
};

function milestoneRows(ms, detail) {
	return ms.map((m) => {
		const p = m.properties || {};
		const pct = Math.round(p.progress || 0);
		return [p.title ? `${p.title} (${m.id})` : m.id, fmt(p.due).slice(0, 10),
		    h("span", {}, h("progress", { max: "100", value: String(pct),
			"aria-label": `${m.id} progress` }), ` ${pct}% (${p.done || 0}/${p.total || 0})`),
		    p.predicted ? fmt(p.predicted).slice(0, 10) : "—", state(p.state),
		    detail ? (p.deltas || []).map((d) => h("div", {},
			`${d.kind || "delta"} −${d.weight ?? ""}${d.active === false ? " (resolved)" : ""}` +
			(d.reason ? `: ${d.reason}` : ""))) : String((p.deltas || []).length)];
	});
}

views.milestones = async (_, { api, out }) => {
	const r = await api("/v1/milestones");
	out.append(h("h2", {}, "Milestones"));
	if (!r.milestones.length) {
		out.append(h("p", {}, "No milestones are configured."));
		return;
	}
	out.append(table("Progress, predicted finish and the deltas that moved it, with their reasons",
	    ["Milestone", "Due", "Progress", "Predicted", "State", "Deltas"],
	    milestoneRows(r.milestones, true)));
};

let chartLib;
function chartjs() {
	chartLib ||= new Promise((ok, ko) => {
		const s = document.createElement("script");
		s.src = "/assets/chart.js";
		s.onload = () => ok(window.Chart);
		s.onerror = () => ko(new Error("chart.js did not load"));
		document.head.append(s);
	});
	return chartLib;
}

function chart(out, title, type, labels, sets, summary) {
	const c = h("canvas", { role: "img", "aria-label": `${title}: ${summary}` });
	out.append(h("figure", {}, h("figcaption", {}, title), c,
	    h("p", { class: "muted" }, summary)));
	return chartjs().then((Chart) => new Chart(c, { type,
	    data: { labels, datasets: sets.map(([label, data, color]) => ({ label, data,
		backgroundColor: color, borderColor: color })) },
	    options: { animation: false, responsive: true,
		plugins: { legend: { display: sets.length > 1 } } } }));
}

views.metrics = async (_, { api, out }) => {
	const [dora, dep, inc] = await Promise.all([api("/v1/metrics/dora?period=week"),
	    api("/v1/metrics/deployments"), api("/v1/metrics/incidents")]);
	const sla = await api("/v1/claims/BuildLifeCycleSLA").catch(() => ({ claims: [] }));
	out.append(h("h2", {}, "Delivery metrics"), kpis(dora),
	    h("p", { class: "muted" }, `From ${fmt(dora.from)} to ${fmt(dora.to)}.`));
	const g = h("div", { class: "charts" });
	out.append(g);
	const w = dora.weeks || [], L = w.map((x) => x.week);
	const done = [
	    chart(g, "Deployments per week", "bar", L, [["deploys", w.map((x) => x.deployment_frequency.deploys), "#0969da"]],
		`${dora.deployment_frequency.deploys} deploys, ${dora.deployment_frequency.per_week} a week`),
	    chart(g, "Lead time for changes (median, hours)", "line", L,
		[["hours", w.map((x) => x.lead_time.median_seconds == null ? null : x.lead_time.median_seconds / 3600), "#8250df"]],
		`median ${secs(dora.lead_time.median_seconds)}`),
	    chart(g, "Change failure rate (%)", "line", L,
		[["percent", w.map((x) => x.change_failure_rate.percent), "#cf222e"]],
		`${dora.change_failure_rate.percent ?? "—"} % of ${dora.change_failure_rate.deploys} deploys`),
	    chart(g, "Time to restore (median, hours)", "line", L,
		[["hours", w.map((x) => x.time_to_restore.median_seconds == null ? null : x.time_to_restore.median_seconds / 3600), "#9a6700"]],
		`median ${secs(dora.time_to_restore.median_seconds)}`),
	    chart(g, "Time in each state (hours, all deployments)", "bar",
		Object.keys(dep.seconds_in_state || {}),
		[["hours", Object.values(dep.seconds_in_state || {}).map((s) => s / 3600), "#1a7f37"]],
		`${dep.deployments} deployments`),
	    chart(g, "MTTSR and MTTR (mean, minutes)", "bar", ["MTTSR failed", "MTTSR stalled", "MTTR"],
		[["minutes", [dep.mttsr.failed.mean_seconds, dep.mttsr.stalled.mean_seconds, inc.mttr.mean_seconds]
		    .map((s) => s == null ? null : s / 60), "#57606a"]],
		`MTTSR failed ${secs(dep.mttsr.failed.mean_seconds)}, stalled ${secs(dep.mttsr.stalled.mean_seconds)}; MTTR ${secs(inc.mttr.mean_seconds)} over ${inc.mttr.samples} incidents`),
	];
	const s = (sla.claims || []).slice(-12);
	if (s.length)
		done.push(chart(g, "Builds within their SLA (%)", "bar", s.map((c) => c.id),
		    [["met SLA %", s.map((c) => c.properties.metSLA), "#0969da"]],
		    `latest ${s[s.length - 1].id}: ${s[s.length - 1].properties.metSLA} %`));
	else
		g.append(h("figure", {}, h("figcaption", {}, "Builds within their SLA"),
		    h("p", {}, "No BuildLifeCycleSLA claims yet.")));
	await Promise.all(done);
	out.dataset.charts = String(done.length);
};

function kpis(dora) {
	const k = (label, value) => h("div", { class: "kpi" }, h("b", {}, value), label);
	return h("div", { class: "kpis", role: "list" },
	    k("deploys a week", String(dora.deployment_frequency.per_week)),
	    k("lead time (median)", secs(dora.lead_time.median_seconds)),
	    k("change failure rate", dora.change_failure_rate.percent == null ? "—" : `${dora.change_failure_rate.percent} %`),
	    k("time to restore (median)", secs(dora.time_to_restore.median_seconds)));
}

views.slos = async (_, { api, out }) => {
	out.append(h("h2", {}, "SLOs"));
	const r = await api("/v1/claims/Slo").catch(() => null);
	const cs = (r && r.claims) || [];
	if (!cs.length) {
		out.append(h("p", {}, "No SLOs yet: once slos: are configured, each Slo claim's state, budget and burn appear here."));
		return;
	}
	// The Slo claim's properties (docs/slos.md): budget_remaining in
	// percent, burn per alerting window, aggregates over 7/14/28 days.
	const num = (v, d) => v == null || Number.isNaN(Number(v)) ? "—" : Number(v).toFixed(d);
	const burns = (b) => b && typeof b === "object" && Object.keys(b).length ?
	    Object.entries(b).map(([w, x]) => `${w} ${num(x, 1)}×`).join(" · ") : "—";
	const rolling = (a) => a && typeof a === "object" ?
	    ["7d", "14d", "28d"].filter((k) => a[k]).map((k) => `${k} ${num(a[k].burn, 2)}×`).join(" · ") || "—" : "—";
	out.append(table("Each SLO's state, error budget left, burn rate over each alerting window, and the rolling burn",
	    ["SLO", "Service", "State", "Budget left", "Burn per window", "Rolling burn"],
	    cs.map((c) => { const p = c.properties || {}, l = c.links || {};
		return [c.id, `${l.service || "—"} / ${l.environment || "—"}`, state(p.state),
		    p.budget_remaining == null ? "—" : `${num(p.budget_remaining, 1)} %`,
		    burns(p.burn), rolling(p.aggregates)]; })));
	// The change gate of each SLO's service and environment, as
	// GET /v1/gates answers it (a client token cannot ask: none shown).
	const pairs = [...new Set(cs.map((c) => c.links && c.links.service && c.links.environment ?
	    `${c.links.service}\u0000${c.links.environment}` : null).filter(Boolean))];
	const gates = (await Promise.all(pairs.map(async (k) => { const [sv, env] = k.split("\u0000");
		const g = await api(`/v1/gates/${encodeURIComponent(sv)}/${encodeURIComponent(env)}`).catch(() => null);
		return g && typeof g.open === "boolean" ? [sv, env, g] : null; }))).filter(Boolean);
	if (!gates.length)
		return;
	out.append(h("h3", {}, "Change gates"));
	out.append(table("Each gate of an SLO's service and environment: open or closed, and every reason",
	    ["Service", "Environment", "Gate", "Reasons"],
	    gates.map(([sv, env, g]) => [sv, env, state(g.open ? "open" : "closed"),
		(g.reasons || []).map((x) => x.reason || x.policy).join("; ") || "—"])));
};

views.outbox = async (_, { api, out }) => {
	const r = await api("/v1/outbox/sinks");
	out.append(h("h2", {}, "Outbox health"));
	if (!r.sinks.length) {
		out.append(h("p", {}, "No sinks are configured."));
		return;
	}
	out.append(table("Each sink: pushes waiting, dead letters, feed not yet taken", ["Sink", "Status", "Pending", "Dead letters", "Backlog", "Oldest pending"],
	    r.sinks.map((s) => [s.sink, s.disabled ? state("dead") : s.dead ? state("failed") : s.pending ? state("pending") : state("ok"),
		String(s.pending), String(s.dead), String(s.backlog), fmt(s.oldest_pending)])));
};

views.executive = async (_, { api, out }) => {
	const [rel, ms, dora] = await Promise.all([api("/v1/releases"), api("/v1/milestones"),
	    api("/v1/metrics/dora")]);
	out.append(h("h2", {}, "Executive summary"), h("h3", {}, "Delivery (DORA, last 30 days)"), kpis(dora),
	    h("h3", {}, "Releases"),
	    rel.releases.length ? table("One line per release", ["Release", "State"],
		rel.releases.map((x) => [x.id, state(x.properties.state)])) : h("p", {}, "No releases yet."),
	    h("h3", {}, "Milestones"),
	    ms.milestones.length ? table("Progress and predicted finish", ["Milestone", "Due", "Progress", "Predicted", "State", "Setbacks"],
		milestoneRows(ms.milestones, false)) : h("p", {}, "No milestones are configured."));
};
