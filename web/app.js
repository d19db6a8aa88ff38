// app.js: the dashboard's shell: sign-in, routing, the live change feed.
// Everything it shows comes from milepostd's JSON read API, read with the
// session cookie (read-only; the same authorization and presentation as a
// bearer token).  No framework; views.js renders.
import { views, h, say } from "/assets/views.js";

const $ = (id) => document.getElementById(id);
export const session = { role: null, tenant: null, view: null, cursor: null };

// GET a JSON path of the read API; a 401 sends the reader to sign-in.
export async function api(path) {
	const r = await fetch(path, { credentials: "same-origin",
	    headers: { Accept: "application/json" } });
	if (r.status === 401) {
		showSignin();
		throw new Error("signed out");
	}
	const body = await r.json().catch(() => ({}));
	if (!r.ok) {
		const e = new Error(body.error || `HTTP ${r.status}`);
		e.status = r.status;
		throw e;
	}
	return body;
}

function showSignin() {
	session.role = null;
	$("nav").hidden = true;
	$("who").hidden = true;
	$("view").replaceChildren();
	$("signin").hidden = false;
	$("token").focus();
}

function staff() { return session.role !== "client"; }

function showApp(s) {
	Object.assign(session, s);
	$("signin").hidden = true;
	$("nav").hidden = false;
	$("who").hidden = false;
	$("whoami").textContent = `${s.name || s.role}` +
	    (s.tenant ? ` (tenant ${s.tenant})` : "") + ` · ${s.view} view`;
	for (const a of document.querySelectorAll("nav a[data-staff]"))
		a.hidden = !staff();
	// The outbox is an operator's (ACCESS_OUTBOX): offered to them only.
	document.querySelector('nav a[data-view="outbox"]').hidden =
	    !["admin", "operator"].includes(s.role);
	if (s.view === "executive")
		for (const a of document.querySelectorAll("nav a"))
			a.hidden = a.dataset.view !== "executive";
	if (!location.hash || location.hash === "#/")
		history.replaceState(null, "", s.view === "executive" ?
		    "#/executive" : "#/board");
	// The first view before the feed's catch-up, which can be long.
	route().then(live);
}

// #/name/arg… → views[name](arg, ctx)
let rendering = 0;
export async function route(quiet) {
	if (!session.role)
		return;
	const parts = location.hash.replace(/^#\/?/, "").split("/");
	let name = parts.shift() || "board";
	if (session.view === "executive")
		name = "executive";
	if (!views[name] || (!staff() && ["metrics", "slos", "outbox",
	    "evidence", "executive"].includes(name)))
		name = "board";
	for (const a of document.querySelectorAll("nav a"))
		if (a.dataset.view === name)
			a.setAttribute("aria-current", "page");
		else
			a.removeAttribute("aria-current");
	const mine = ++rendering;
	const out = h("div");
	try {
		await views[name](decodeURIComponent(parts.join("/")),
		    { api, session, out });
	} catch (e) {
		if (e.message === "signed out")
			return;
		out.replaceChildren(h("p", { class: "error", role: "alert" },
		    `Could not load this view: ${e.message}`));
	}
	if (mine !== rendering)
		return;		// a newer route won
	$("view").replaceChildren(out);
	document.body.dataset.view = name;
	performance.mark(`view:${name}`);	// bench/dashboard reads it
	if (!quiet)
		$("main").focus({ preventScroll: true });
}

// The live feed: catch the cursor up, then long-poll /v1/changes for
// what follows; a change re-renders the current view in place (no reload).
let polling = false;
async function live() {
	if (polling)
		return;
	polling = true;
	try {
		let next = 0, r;
		do {
			r = await api(`/v1/changes?after=${next}&limit=1000`);
			next = r.next;
		} while (r.changes.length === 1000);
		session.cursor = next;
		$("live").textContent = "Live";
		document.body.dataset.live = "on";
		// Long polls: milepostd answers as soon as the feed moves
		// past the cursor, or empty after 25 s.
		while (session.role) {
			r = await api(`/v1/changes?after=${session.cursor}&limit=1000&wait=25`);
			if (r.changes.length > 0) {
				session.cursor = r.next;
				say(`${r.changes.length} change${r.changes.length > 1 ? "s" : ""} at ${new Date().toLocaleTimeString()}`);
				await route(true);
			}
		}
	} catch (e) {
		$("live").textContent = "Live updates stopped: " + e.message;
	} finally {
		polling = false;
	}
}

$("signin").addEventListener("submit", async (ev) => {
	ev.preventDefault();
	$("signin-error").textContent = "";
	const r = await fetch("/session", { method: "POST",
	    credentials: "same-origin",
	    headers: { Authorization: `Bearer ${$("token").value.trim()}`,
		"Content-Type": "application/json" },
	    body: JSON.stringify({ view: $("view-choice").value }) });
	$("token").value = "";
	const body = await r.json().catch(() => ({}));
	if (!r.ok) {
		$("signin-error").textContent = `Sign-in refused: ${body.error || r.status}`;
		return;
	}
	showApp(body);
});

$("signout").addEventListener("click", async () => {
	await fetch("/session", { method: "DELETE", credentials: "same-origin" });
	location.hash = "";
	showSignin();
});

window.addEventListener("hashchange", () => route());

fetch("/session", { credentials: "same-origin" }).then(async (r) => {
	if (r.ok)
		showApp(await r.json());
	else
		showSignin();
});
