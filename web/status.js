// status.js: a tenant's public status page.  It reads /status/{tenant}.json
// (only the fields milepostd is configured to publish, presented as the
// tenant's client view) and refreshes it every 30 s, with its ETag.
import { h, state, age, envOrder } from "/assets/views.js";

const url = location.pathname.replace(/\/$/, "") + ".json";
const $ = (id) => document.getElementById(id);
const day = (t) => t ? t.slice(0, 10) : "—";

function section(id, node) {
	const s = $(id);
	s.replaceChildren(s.firstElementChild, node);
	s.hidden = false;
}

function table(caption, head, rows) {
	return h("table", {}, h("caption", { class: "muted" }, caption),
	    h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
	    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))));
}

async function load() {
	const r = await fetch(url, { cache: "no-cache" });
	if (!r.ok) {
		$("live").textContent = `Status unavailable (${r.status})`;
		return;
	}
	const s = await r.json();
	document.title = $("title").textContent = s.title;
	if (s.services) {
		const envs = envOrder(new Set(s.services.flatMap((x) => Object.keys(x.environments))));
		section("services", s.services.length ? table("Current status per environment",
		    ["Service", ...envs], s.services.map((x) => [x.service, ...envs.map((e) => {
			const c = x.environments[e];
			return c ? h("span", { "data-service": x.service, "data-environment": e },
			    state(c.state), c.since ? [" ", h("span", { class: "muted" }, age(c.since))] : null) : "—";
		    })])) : h("p", {}, "No services yet."));
	}
	if (s.milestones)
		section("milestones", s.milestones.length ? table("Deliverables",
		    ["Milestone", "Due", "State", "Progress", "Predicted", "Delivered by"],
		    s.milestones.map((m) => [m.title || m.id, day(m.due), state(m.state),
			m.progress == null ? "—" : h("span", {}, h("progress", { max: "100", value: String(Math.round(m.progress)),
			    "aria-label": `${m.title || m.id} progress` }), ` ${Math.round(m.progress)}%`),
			m.predicted === undefined ? "—" : day(m.predicted),
			(m.delivered_by || []).map((d) => h("div", {}, `${d.service} ${d.environment}${d.region ? " " + d.region : ""} ${day(d.verified_at)}`))]))
		    : h("p", {}, "No milestones."));
	if (s.incidents)
		section("incidents", s.incidents.length ? table("Incidents that set a milestone back",
		    ["Milestone", "Began", "State"], s.incidents.map((i) => [i.milestone, day(i.time),
			i.active === false || i.resolved ? state("recovered") : state("failed")]))
		    : h("p", {}, "No recent incidents."));
	$("live").textContent = `Updated ${new Date().toLocaleTimeString()}`;
}
load();
setInterval(load, 30000);
