// tests/browser/dashboard.js: the dashboard in a real headless Chromium
// (Debian's chromium, driven by playwright-core), against the real
// milepostd that tests/it/dashboard.sh started and fed with
// tests/browser/scenario.sh.  An oracle: one "ok - " or "not ok - " line
// per check (PLAN of them), whatever fails; lib.sh's oracle counts them.
//   env: PW (playwright-core's directory), URL, ADMIN_TOKEN, CLIENT_TOKEN,
//   OUT (screenshots), MILEPOST (the agent), SHAS (space-separated),
//   README_PNG (optional: where the README's screenshot goes)
"use strict";
const { chromium } = require(process.env.PW);
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const URL = process.env.URL, OUT = process.env.OUT;
let n = 0;
function check(desc, cond, why) {
	n++;
	console.log(`${cond ? "ok" : "not ok"} - ${desc}${cond || !why ? "" : ": " + why}`);
}
async function attempt(desc, fn) {	// a check that throws fails, not the run
	try {
		const [c, why] = await fn();
		check(desc, c, why);
	} catch (e) {
		check(desc, false, String(e.message).split("\n")[0]);
	}
}
async function apiGet(p, tok) {
	const r = await fetch(URL + p, { headers: { Authorization: `Bearer ${tok}` } });
	return r.json();
}

// Every control has an accessible name: a <label for>, aria-label, or
// its own text.  Returns the unnamed ones.
const unlabelled = () => [...document.querySelectorAll("input, select, button, a, textarea")]
    .filter((e) => e.offsetParent !== null)
    .filter((e) => !(e.getAttribute("aria-label") || (e.id && document.querySelector(`label[for="${e.id}"]`)) ||
	e.textContent.trim()))
    .map((e) => e.outerHTML.slice(0, 80));

async function signin(page, token, view, keyboard) {
	await page.goto(URL + "/");
	await page.waitForSelector("#signin:not([hidden])");
	if (keyboard) {
		for (let i = 0; i < 15; i++) {
			await page.keyboard.press("Tab");
			if (await page.evaluate(() => document.activeElement.id === "token"))
				break;
		}
		await page.keyboard.type(token);
		await page.keyboard.press("Enter");
	} else {
		await page.fill("#token", token);
		if (view)
			await page.selectOption("#view-choice", view);
		await page.click("#signin button[type=submit]");
	}
}

const cellState = (page, s, e) => page.getAttribute(
    `td[data-service="${s}"][data-environment="${e}"] [data-state]`, "data-state").catch(() => null);

(async () => {
	const browser = await chromium.launch({ executablePath: "/usr/bin/chromium",
	    args: ["--no-sandbox"] });
	const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
	const page = await ctx.newPage();
	const errors = [];
	page.on("pageerror", (e) => errors.push(e.message));
	page.on("console", (m) => { if (/Content Security Policy/.test(m.text())) errors.push(m.text()); });
	await page.addInitScript(() => document.addEventListener("securitypolicyviolation",
	    (e) => console.log("Content Security Policy violation: " + e.violatedDirective)));

	// 1-2: sign-in, by keyboard alone.
	await page.goto(URL + "/");
	await page.waitForSelector("#signin:not([hidden])");
	await attempt("sign-in form: every control is labelled", async () => {
		const u = await page.evaluate(unlabelled);
		return [u.length === 0, u.join(" ")];
	});
	await attempt("sign in with a token by keyboard alone (Tab, type, Enter): the board shows", async () => {
		await signin(page, process.env.ADMIN_TOKEN, null, true);
		await page.waitForSelector("#board", { timeout: 15000 });
		return [true];
	});
	await page.screenshot({ path: path.join(OUT, "board.png"), fullPage: true });
	if (process.env.README_PNG)
		fs.copyFileSync(path.join(OUT, "board.png"), process.env.README_PNG);

	// 3-5: the board against the API, for the scenario driven.
	await attempt("the board shows each cell's state as the API reports it (4 cells of the scenario)", async () => {
		const sv = await apiGet("/v1/services", process.env.ADMIN_TOKEN);
		const want = [], got = [];
		for (const s of sv.services)
			for (const [e, x] of Object.entries(s.environments)) {
				want.push(`${s.service}/${e}=${x.state}`);
				got.push(`${s.service}/${e}=${await cellState(page, s.service, e)}`);
			}
		const scenario = "ledgerly/production=failed payments/production=failed shop/production=deployed shop/staging=deployed";
		return [want.sort().join(" ") === scenario && got.sort().join(" ") === scenario,
		    `API ${want.join(" ")}, board ${got.join(" ")}`];
	});
	await attempt("state is never by colour alone: every state shows its word", async () => {
		const bad = await page.evaluate(() => [...document.querySelectorAll("[data-state]")]
		    .filter((e) => !e.textContent.includes(e.dataset.state.replace(/_/g, " ")))
		    .map((e) => e.dataset.state));
		const count = await page.locator("[data-state]").count();
		return [count >= 4 && bad.length === 0, `${count} states, wordless: ${bad}`];
	});
	await attempt("the failed cell carries an incident badge, in words", async () => {
		const t = await page.textContent('td[data-service="payments"][data-environment="production"]');
		return [/1 incident/.test(t), t];
	});
	await attempt("the board: every control labelled", async () => {
		const u = await page.evaluate(unlabelled);
		return [u.length === 0, u.join(" ")];
	});

	// 7-9: a history by keyboard, then a basis link to the evidence.
	const hist = await fetch(`${URL}/v1/deployments/payments/production/${process.env.SHA2}`,
	    { headers: { Authorization: `Bearer ${process.env.ADMIN_TOKEN}` } }).then((r) => r.json());
	await attempt("keyboard: Tab reaches the failed cell and Enter opens its history", async () => {
		for (let i = 0; i < 40; i++) {
			await page.keyboard.press("Tab");
			if (await page.evaluate(() => document.activeElement.closest &&
			    !!document.activeElement.closest('td[data-service="payments"][data-environment="production"]')))
				break;
		}
		await page.keyboard.press("Enter");
		await page.waitForSelector("a.basis", { timeout: 15000 });
		return [(await page.evaluate(() => location.hash)).startsWith("#/deployment/payments")];
	});
	await page.screenshot({ path: path.join(OUT, "history.png"), fullPage: true });
	await attempt("the history lists each transition with its actor and reason, as the API does", async () => {
		const t = await page.textContent("#view");
		const miss = hist.history.filter((r) => !t.includes(r.actor) || !t.includes(r.reason));
		return [hist.history.length >= 2 && miss.length === 0, `${miss.length} of ${hist.history.length} missing`];
	});
	await attempt("following a basis link shows the evidence behind the failure", async () => {
		const failed = hist.history.find((r) => r.state === "failed");
		const seq = failed.basis[0].seq;
		await page.click(`a.basis[href="#/evidence/${seq}"]`);
		await page.waitForSelector("#evidence-title", { timeout: 15000 });
		const t = await page.textContent("#evidence-title");
		return [t === `Evidence #${seq}: DeploymentFailed`, t];
	});

	// 10: live: a change appears without a reload.
	await page.click('nav a[data-view="board"]');
	await page.waitForSelector("#board");
	await page.waitForSelector('body[data-live="on"]', { timeout: 30000 }).catch(() => {});
	await page.evaluate(() => { window.__sameDocument = true; });
	await attempt("a live change (a new deployment to shop in staging) appears without a reload", async () => {
		execFileSync(process.env.MILEPOST, ["emit", "DeploymentStarted", "--subject", "d9",
		    "--id", "live-d9", "deploymentId=d9", "service=shop", "environment=staging",
		    "revision=" + process.env.SHA3]);
		await page.waitForFunction(() => {
			const e = document.querySelector('td[data-service="shop"][data-environment="staging"] [data-state]');
			return e && e.dataset.state === "in_progress";
		}, null, { timeout: 30000 });
		return [await page.evaluate(() => window.__sameDocument === true), "the page was reloaded"];
	});

	// 11: the charts.
	await attempt("delivery metrics: the DORA keys, MTTSR/MTTR, time in state and builds against their SLA (50 %) drawn by Chart.js", async () => {
		await page.click('nav a[data-view="metrics"]');
		await page.waitForSelector("[data-charts]", { timeout: 20000 });
		const c = await page.evaluate(() => ({ charts: Number(document.querySelector("[data-charts]").dataset.charts),
		    canvases: document.querySelectorAll("canvas").length, lib: typeof window.Chart }));
		const sla = await page.textContent("#view");
		return [c.charts === 7 && c.canvases === 7 && c.lib === "function" && /Builds within their SLA \(%\)/.test(sla) &&
		    /: 50 %/.test(sla), JSON.stringify(c)];
	});
	await page.screenshot({ path: path.join(OUT, "metrics.png"), fullPage: true });
	await attempt("outbox health lists each sink with its backlog and dead letters", async () => {
		await page.click('nav a[data-view="outbox"]');
		await page.waitForSelector("#view table", { timeout: 15000 });
		const t = await page.textContent("#view table");
		return [/status-page/.test(t) && /Dead letters/.test(t), t.slice(0, 200)];
	});

	await attempt("the SLO view: each Slo claim's state, budget left and burn per window as the API has them, and its gate", async () => {
		await page.click('nav a[data-view="slos"]');
		await page.waitForSelector('body[data-view="slos"]', { timeout: 15000 });
		await page.waitForFunction(() => /Change gates/.test(
		    (document.querySelector("#view") || {}).textContent || ""),
		    null, { timeout: 15000 }).catch(() => {});
		const auth = { headers: { Authorization: `Bearer ${process.env.ADMIN_TOKEN}` } };
		const cs = ((await (await fetch(`${URL}/v1/claims/Slo`, auth)).json()).claims || []);
		const g = await (await fetch(`${URL}/v1/gates/shop/production`, auth)).json();
		const rows = await page.locator("#view table").first().locator("tbody tr").allTextContents();
		const c = cs.find((x) => x.id === "shop-availability");
		const p = (c && c.properties) || {};
		const row = rows.find((t) => t.includes("shop-availability")) || "";
		const gates = await page.locator("#view table").nth(1).locator("tbody tr").allTextContents();
		const ok = cs.length === rows.length && c && ["page", "exhausted"].includes(p.state) &&
		    row.includes(p.state) && row.includes(`${Number(p.budget_remaining).toFixed(1)} %`) &&
		    row.includes(`1h ${Number(p.burn["1h"]).toFixed(1)}×`) && row.includes(`5m ${Number(p.burn["5m"]).toFixed(1)}×`) &&
		    g.open === false && gates.length === 1 && /shop/.test(gates[0]) && /closed/.test(gates[0]) &&
		    (g.reasons || []).length > 0 && g.reasons.every((x) => gates[0].includes(x.reason));
		return [ok, `claims ${cs.length}, rows ${rows.length}: ${row.slice(0, 160)} | gate ${JSON.stringify(g).slice(0, 160)} | ${gates.join(" / ").slice(0, 160)}`];
	});

	await attempt("releases: the composite state, what holds it back, and each region's state", async () => {
		await page.click('nav a[data-view="releases"]');
		// The SLO view's tables stay until the releases replace them:
		// wait for the release itself, not for any table.
		await page.waitForFunction(() => /2026\.1/.test(
		    (document.querySelector("#view") || {}).textContent || ""),
		    null, { timeout: 15000 }).catch(() => {});
		const row = await page.textContent("#view tbody tr");
		const regions = await page.evaluate(() => [...document.querySelectorAll("#view .region")]
		    .map((e) => `${e.dataset.region}=${e.querySelector("[data-state]").dataset.state}`).join(" "));
		const held = await page.locator("#view .holding").count();
		return [/2026\.1/.test(row) && /partially deployed/.test(row) && regions === "eu-west=deployed us-east=failed" && held === 2,
		    `${regions}; ${held} holding; ${row.slice(0, 150)}`];
	});

	// 13-15: the cookie.
	await attempt("the session cookie is HttpOnly and SameSite=Strict, invisible to scripts", async () => {
		const c = (await ctx.cookies()).find((x) => x.name === "mp_session");
		const js = await page.evaluate(() => document.cookie);
		return [c && c.httpOnly && c.sameSite === "Strict" && !js.includes("mp_session") &&
		    !c.value.includes(process.env.ADMIN_TOKEN), JSON.stringify(c && { ...c, value: "…" })];
	});
	await attempt("the cookie is read-only: a POST to /v1/* with it is refused (403)", async () => {
		const s = await page.evaluate(async (sha) => (await fetch(`/v1/deployments/shop/production/${sha}/status`,
		    { method: "POST", headers: { "Content-Type": "application/json" },
		      body: JSON.stringify({ state: "verified", reason: "x" }) })).status, process.env.SHA1);
		return [s === 403, `status ${s}`];
	});
	await attempt("sign-out deletes the session: the form is back and a read is 401", async () => {
		await page.click("#signout");
		await page.waitForSelector("#signin:not([hidden])");
		const s = await page.evaluate(async () => (await fetch("/v1/deployments")).status);
		return [s === 401, `status ${s}`];
	});
	await attempt("no script error and no Content-Security-Policy violation", async () => [errors.length === 0, errors.join("; ")]);

	// 17-20: a client token sees its tenant only, presented.
	const cctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
	const cpage = await cctx.newPage();
	const forbidden = [...process.env.SHAS.split(" ").flatMap((s) => [s, s.slice(0, 7)]),
	    "ledgerly", "globex", "tool_deployment", "Card payments failing", "from agent",
	    "Failed-d3", "INC-1", "actor"];
	const leaks = async () => { const html = await cpage.content();
		return forbidden.filter((f) => html.includes(f)); };
	await attempt("a client token signs in and its board shows its tenant's services only", async () => {
		await signin(cpage, process.env.CLIENT_TOKEN);
		await cpage.waitForSelector("#board", { timeout: 15000 });
		const svcs = await cpage.evaluate(() => [...new Set([...document.querySelectorAll("td[data-service]")]
		    .map((e) => e.dataset.service))].sort().join(" "));
		return [svcs === "payments shop", svcs];
	});
	await cpage.screenshot({ path: path.join(OUT, "client.png"), fullPage: true });
	await attempt("client board: none of the forbidden fields in the DOM", async () => {
		const l = await leaks();
		return [l.length === 0, l.join(", ")];
	});
	await attempt("client history (the same presentation): states, no SHA, actor, reason or basis", async () => {
		await cpage.click('td[data-service="payments"][data-environment="production"] a');
		await cpage.waitForSelector("#view table", { timeout: 15000 });
		const l = await leaks();
		const t = await cpage.textContent("#view");
		const basis = await cpage.locator("a.basis").count();
		return [l.length === 0 && basis === 0 && /failed/.test(t), `leaks ${l.join(", ")}; basis links ${basis}`];
	});
	await attempt("client milestones: its milestone, no forbidden field; no staff views offered", async () => {
		await cpage.click('nav a[data-view="milestones"]');
		// The history's table is still there until the milestones replace
		// it: wait for the milestone itself, not for any table.
		await cpage.waitForFunction(() => /Checkout v2/.test(
		    (document.querySelector("#view") || {}).textContent || ""),
		    null, { timeout: 15000 }).catch(() => {});
		const t = await cpage.textContent("#view");
		const l = await leaks();
		const staffLinks = await cpage.locator("nav a[data-staff]:visible").count();
		return [/Checkout v2/.test(t) && l.length === 0 && staffLinks === 0, `leaks ${l.join(", ")}; staff links ${staffLinks}`];
	});

	// 21: the executive page.
	const ectx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
	const epage = await ectx.newPage();
	await attempt("executive view: one page of releases, milestones and the DORA summary, no SHA", async () => {
		await signin(epage, process.env.ADMIN_TOKEN, "executive");
		await epage.waitForSelector(".kpis", { timeout: 15000 });
		const t = await epage.textContent("#view");
		const html = await epage.content();
		const sha = process.env.SHAS.split(" ").filter((s) => html.includes(s.slice(0, 7)));
		return [/Releases/.test(t) && /Checkout v2/.test(t) && /deploys a week/.test(t) && sha.length === 0,
		    `SHAs: ${sha}`];
	});
	await epage.screenshot({ path: path.join(OUT, "executive.png"), fullPage: true });
	// The tenant's public status page, with no token, in the same browser.
	const sctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
	const spage = await sctx.newPage();
	spage.on("console", (m) => { if (/Content Security Policy/.test(m.text())) errors.push(m.text()); });
	await attempt("acme's public status page renders with no token: its services' states, nothing forbidden, no CSP error", async () => {
		const before = errors.length;
		await spage.goto(URL + "/status/acme");
		await spage.waitForSelector("#services table", { timeout: 15000 });
		const st = await spage.getAttribute('#services [data-service="payments"][data-environment="production"] [data-state]', "data-state");
		const html = await spage.content();
		const l = forbidden.filter((f) => html.includes(f));
		return [st === "failed" && l.length === 0 && errors.length === before && /Checkout v2/.test(html),
		    `payments/production ${st}; leaks ${l.join(", ")}; ${errors.slice(before).join("; ")}`];
	});
	await spage.screenshot({ path: path.join(OUT, "status-page.png"), fullPage: true });
	await attempt("screenshots saved under the build directory", async () => {
		const f = ["board", "history", "metrics", "client", "executive", "status-page"].map((x) => path.join(OUT, x + ".png"));
		const miss = f.filter((x) => !fs.existsSync(x) || fs.statSync(x).size < 1000);
		return [miss.length === 0, miss.join(" ")];
	});
	await browser.close();
	if (n !== Number(process.env.PLAN))
		console.log(`not ok - the oracle made ${n} checks, not ${process.env.PLAN}`);
})().catch((e) => { console.log(`not ok - the browser run stopped: ${e.message.split("\n")[0]}`); process.exit(1); });
