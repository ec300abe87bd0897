// The one rendering idiom (render/template.ts) and the literal escapers (render/literals.ts),
// with tables of cases: what every component's renderer relies on.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { describe, it } from "node:test";
import { dovecotValue, LiteralError, perlString, phpList, phpString, sieveString, sqlString } from "../../render/literals";
import { renderTemplates, renderText, TEMPLATE_ROOT, TemplateError } from "../../render/template";

const CLAMD = { maxThreads: 4, streamMaxMb: 51, maxScanMb: 200 };
const SPAMD = { allowedIps: "127.0.0.1/32", maxChildren: 2 };

describe("renderText", () => {
  it("replaces every placeholder, with or without spaces inside the braces", () => {
    assert.equal(renderText("t", "a={{ a }} b={{b}} a={{a}}", { a: 1, b: "x" }), "a=1 b=x a=1");
  });
  const refusals: [string, string, Record<string, string>, RegExp][] = [
    ["a placeholder without a value", "{{ a }} {{ b }}", { a: "1" }, /^t: placeholders with no value: b$/],
    ["a value the template never uses", "{{ a }}", { a: "1", c: "2" }, /^t: values the template never uses: c$/],
  ];
  for (const [what, text, values, error] of refusals) {
    it(`refuses ${what}`, () =>
      assert.throws(
        () => renderText("t", text, values),
        (e: Error) => e instanceof TemplateError && error.test(e.message),
      ));
  }
});

describe("renderTemplates", () => {
  it("renders every template of the folder at its container path; one without an entry as it is", () => {
    const files = renderTemplates("spamassassin", {
      "/etc/spamassassin/local.cf": {
        tagScore: "5.0",
        trustedNetworks: "10.0.0.0/24",
        bayesDatabase: "sa",
        bayesHost: "db",
        bayesPort: 3306,
        bayesGlobalUser: "g",
        networkChecksComment: "off",
        dnsAvailable: "no",
        skipRblChecks: 1,
      },
      "/etc/spamassassin/bayes-sql-secret.cf": { bayesUser: "u", bayesPassword: "p" },
    });
    assert.deepEqual(Object.keys(files).sort(), [
      "/etc/spamassassin/bayes-sql-secret.cf",
      "/etc/spamassassin/local.cf",
      "/etc/spamassassin/mail-platform.pre",
    ]);
    assert.match(files["/etc/spamassassin/local.cf"], /^required_score 5\.0$/m);
    assert.equal(
      files["/etc/spamassassin/mail-platform.pre"],
      fs.readFileSync(path.join(TEMPLATE_ROOT, "spamassassin/etc/spamassassin/mail-platform.pre"), "utf8"),
    );
  });

  it("renders a template as copies, each at its own path, and not at its own", () => {
    const files = renderTemplates("spamd", {
      "/etc/default/spamd": [
        { path: "/a/spamd", values: SPAMD },
        { path: "/b/spamd", values: { ...SPAMD, maxChildren: 3 } },
      ],
    });
    assert.deepEqual(Object.keys(files).sort(), ["/a/spamd", "/b/spamd"]);
    assert.match(files["/b/spamd"], /--max-children=3/);
    assert.deepEqual(renderTemplates("spamd", { "/etc/default/spamd": [] }), {}, "no copies, no file");
  });

  it("renders a part of a folder when given one", () => {
    const files = renderTemplates("postfixadmin/etc/postfixadmin", {
      "/etc/postfixadmin/config.local.php": {
        setupPasswordHash: "'h'",
        databaseHost: "'db'",
        databasePort: 3306,
        databaseUser: "'u'",
        databasePassword: "'p'",
        databaseName: "'n'",
      },
    });
    assert.deepEqual(Object.keys(files), ["/etc/postfixadmin/config.local.php"]);
  });

  const refusals: [string, () => unknown, RegExp][] = [
    [
      "an entry that names no template (a typo must not drop a setting)",
      () => renderTemplates("clamav", { "/etc/clamav/clamd.conf": CLAMD, "/etc/clamav/clamd.cnf": {} }),
      /^config-templates\/clamav has no template for \/etc\/clamav\/clamd\.cnf$/,
    ],
    [
      "a template with placeholders and no entry",
      () => renderTemplates("clamav", {}),
      /clamav\/etc\/clamav\/clamd\.conf: placeholders with no value: maxThreads, streamMaxMb, maxScanMb/,
    ],
    [
      "two copies at one path",
      () =>
        renderTemplates("spamd", {
          "/etc/default/spamd": [
            { path: "/a", values: SPAMD },
            { path: "/a", values: SPAMD },
          ],
        }),
      /\/a is rendered twice/,
    ],
    [
      "a copy's values the template never uses",
      () => renderTemplates("spamd", { "/etc/default/spamd": [{ path: "/a", values: { ...SPAMD, extra: 1 } }] }),
      /spamd\/etc\/default\/spamd \(as \/a\): values the template never uses: extra/,
    ],
  ];
  for (const [what, run, error] of refusals)
    it(`refuses ${what}`, () => assert.throws(run, (e: Error) => e instanceof TemplateError && error.test(e.message)));
});

describe("literals", () => {
  const cases: [string, () => string, string][] = [
    ["PHP: quote and backslash", () => phpString("it's\\x"), "'it\\'s\\\\x'"],
    ["PHP list", () => phpList(["a", "b'c"]), "['a', 'b\\'c']"],
    ["Perl: quote and backslash", () => perlString("it's\\x"), "'it\\'s\\\\x'"],
    ["SQL: quote, backslash and NUL", () => sqlString("a'b\\c\0"), "a\\'b\\\\c\\0"],
    ["Dovecot: a plain token stays bare", () => dovecotValue("plain-Token_1.2"), "plain-Token_1.2"],
    ["Dovecot: %, quotes and $ are quoted", () => dovecotValue('$ENV:%"x'), '"$ENV:%%\\"x"'],
    ["Sieve: quote and backslash", () => sieveString('a"b\\c'), 'a\\"b\\\\c'],
  ];
  for (const [what, got, want] of cases) it(what, () => assert.equal(got(), want));

  const refusals: [string, () => string][] = [
    ["a PHP string with NUL", () => phpString("a\0b")],
    ["a Perl string with a line break", () => perlString("a\nb")],
    ["a Dovecot value with a line break", () => dovecotValue("a\rb")],
  ];
  for (const [what, run] of refusals) it(`refuses ${what}`, () => assert.throws(run, LiteralError));
});
