// The page a browser gets for a login link that is used, expired or wrong: plain words on what
// happened and how to get a new link (`reachy-mini-driver settings-link` on the machine running the
// driver), instead of the JSON refusal the API answers. Pure: owns the HTML text (static, no
// values from the request, no inline script or style: the server's CSP forbids both). README
// "Settings app".

/** The command that asks the running driver for a fresh one-time link. */
export const SETTINGS_LINK_COMMAND = 'npx reachy-mini-driver settings-link';

export function usedLinkPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <title>Login link not valid — Device Connect Driver</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/style.css">
</head>
<body>
  <header><h1>Reachy Mini — Device Connect</h1></header>
  <main>
    <section class="card" id="used-link">
      <h2>This login link cannot be used</h2>
      <p>Each login link works once, in one browser, for one hour. This one has already been used,
      has expired, or was replaced by a newer link.</p>
      <p>If you already logged in with it in this browser, <a href="/">open the settings page</a>.</p>
      <p>For a new link, run this on the robot (or on the computer running the driver):</p>
      <pre><code>${SETTINGS_LINK_COMMAND}</code></pre>
      <p class="muted">It prints a fresh one-time link; restarting the driver prints one too.</p>
    </section>
  </main>
</body>
</html>
`;
}
