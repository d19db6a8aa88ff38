// bench/dashboard.js: first paint and time to interactive of the
// dashboard's board in headless Chromium (playwright-core), for each URL
// given (the same daemon build with 10,000 deployments, and with none),
// RUNS cold loads each (a new context, so no cache), signed in by cookie.
//   env: PW, TOKEN, RUNS; args: NAME=URL…
// Prints "NAME fp_ms=… fcp_ms=… tti_ms=… cells=…" (medians).
"use strict";
const { chromium } = require(process.env.PW);
const median = (a) => { a = [...a].sort((x, y) => x - y); const m = a.length >> 1;
	return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2; };
(async () => {
	const b = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
	for (const arg of process.argv.slice(2)) {
		const [name, url] = arg.split(/=(.*)/);
		const fp = [], fcp = [], tti = [];
		let cells = 0;
		for (let i = 0; i < Number(process.env.RUNS || 5); i++) {
			const ctx = await b.newContext({ viewport: { width: 1280, height: 800 } });
			const r = await ctx.request.post(url + "/session",
			    { headers: { Authorization: `Bearer ${process.env.TOKEN}` } });
			if (!r.ok())
				throw new Error(`${name}: sign-in ${r.status()}`);
			const page = await ctx.newPage();
			await page.goto(url + "/#/board");
			await page.waitForFunction(() => performance.getEntriesByName("view:board").length > 0,
			    null, { timeout: 60000 });
			const m = await page.evaluate(() => ({
				fp: (performance.getEntriesByName("first-paint")[0] || {}).startTime,
				fcp: (performance.getEntriesByName("first-contentful-paint")[0] || {}).startTime,
				tti: performance.getEntriesByName("view:board")[0].startTime,
				cells: document.querySelectorAll("#board [data-state]").length }));
			fp.push(m.fp); fcp.push(m.fcp); tti.push(m.tti); cells = m.cells;
			await ctx.close();
		}
		console.log(`${name} fp_ms=${median(fp).toFixed(0)} fcp_ms=${median(fcp).toFixed(0)} tti_ms=${median(tti).toFixed(0)} cells=${cells}`);
	}
	await b.close();
})().catch((e) => { console.error(e.message); process.exit(1); });
