/**
 * A node:test reporter that prints nothing but, at the end, every skipped test grouped by reason, so a run
 * that checked less than the whole suite says so loudly. `npm test` uses it next to the spec reporter.
 */
interface TestEvent {
  type: string;
  data: { name?: string; file?: string; skip?: string | boolean; nesting?: number };
}

export default async function* skipSummary(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const byReason = new Map<string, Set<string>>();
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { skip, name, file } = event.data;
    if (skip === undefined || skip === false) continue;
    const reason = skip === true ? '(no reason given)' : skip;
    const tests = byReason.get(reason) ?? new Set<string>();
    tests.add(`${file === undefined ? '' : `${file.replace(`${process.cwd()}/`, '')}: `}${name ?? ''}`);
    byReason.set(reason, tests);
  }
  const total = [...byReason.values()].reduce((n, s) => n + s.size, 0);
  if (total === 0) return;
  const bar = '!'.repeat(78);
  let out = `\n${bar}\n!! ${total} test(s) SKIPPED: this run did not check everything\n`;
  for (const [reason, tests] of byReason) {
    out += `!!   ${tests.size} × ${reason}\n`;
    for (const t of [...tests].slice(0, 5)) out += `!!       ${t}\n`;
    if (tests.size > 5) out += `!!       … and ${tests.size - 5} more\n`;
  }
  out += `!! With CI=true these are failures (docs/testing.md).\n${bar}\n`;
  yield out;
}
