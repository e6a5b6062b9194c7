/** One static file the API server serves as is (the dashboard's and the explorer's pages). */
export interface StaticPage {
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

// Scripts only from this origin (no inline script, so injected markup could not run anything);
// inline styles are allowed for the single <style> block.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:";

/** The colours and base rules both pages start their <style> block with. */
const BASE_STYLE = `  :root { --bg:#0f1419; --panel:#182029; --text:#d8dee6; --dim:#8593a3; --accent:#4fb3ff; --bad:#ff6b6b; --ok:#5fd38d; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--text); }`;

/** A page's start up to and inside its <style> block (the base rules): the page adds its own rules. */
export function pageHead(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>
${BASE_STYLE}`;
}

/** A page and its one script, keyed by path, for `ApiServerDeps.pages`. */
export function pageWithScript(
  pagePath: string,
  html: string,
  scriptPath: string,
  script: string,
): Record<string, StaticPage> {
  const headers = { "content-security-policy": CSP, "cache-control": "no-cache" };
  return {
    [pagePath]: { contentType: "text/html; charset=utf-8", body: html, headers },
    [scriptPath]: { contentType: "text/javascript; charset=utf-8", body: script, headers },
  };
}
