import * as assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND_IDS, HIDDEN_COMMAND_IDS } from '../../src/host/commandIds';

const root = join(__dirname, '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every `when` clause of the menus, with the menu and command it belongs to. */
function whenClauses(): Array<{ menu: string; command: string; when: string }> {
  return Object.entries(pkg.contributes.menus as Record<string, Array<{ command?: string; when?: string }>>).flatMap(
    ([menu, items]) => items.filter((i) => i.when).map((i) => ({ menu, command: i.command ?? '', when: i.when! })),
  );
}

/**
 * The contextValues tree items can carry, read from the sources: string literals assigned to `contextValue`
 * (template literals become patterns), and suffixes appended with `+=` to the values of the same file.
 */
function producedContextValues(): RegExp[] {
  const produced: RegExp[] = [];
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const file of sources(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    const assigned: string[] = [];
    for (const m of text.matchAll(/contextValue\s*=\s*([^;]+);/g)) {
      for (const lit of m[1].matchAll(/'([^']*)'|`([^`]*)`/g)) {
        assigned.push(
          lit[1] !== undefined
            ? escape(lit[1])
            : lit[2]
                .split(/\$\{[^}]*\}/)
                .map(escape)
                .join('[^.]+'),
        );
      }
    }
    produced.push(...assigned.map((a) => new RegExp(`^${a}$`)));
    for (const m of text.matchAll(/contextValue\s*\+=\s*'([^']*)'/g)) {
      produced.push(...assigned.map((a) => new RegExp(`^${a}${escape(m[1])}$`)));
    }
  }
  return produced;
}

describe('commands and menus (package.json ⇄ code)', () => {
  const contributed: string[] = pkg.contributes.commands.map((c: { command: string }) => c.command);

  it('the command table and package.json list the same commands (hidden ones deliberately apart)', () => {
    const table = COMMAND_IDS.filter((id) => !HIDDEN_COMMAND_IDS.includes(id));
    assert.deepEqual([...contributed].sort(), [...table].sort());
    assert.equal(new Set(COMMAND_IDS).size, COMMAND_IDS.length, 'no id twice in the table');
  });

  it('commands are registered only through the registrar (ids typed by the table)', () => {
    for (const file of sources(join(root, 'src'))) {
      if (file.endsWith(join('host', 'commandRegistrar.ts'))) continue;
      assert.doesNotMatch(readFileSync(file, 'utf8'), /commands\.registerCommand\(/, file);
    }
  });

  it('every menu item names a contributed command, with category "etcd" for palette titles', () => {
    for (const { menu, command } of whenClauses()) {
      if (command) assert.ok(contributed.includes(command), `${menu}: ${command} is not contributed`);
    }
    for (const c of pkg.contributes.commands as Array<{ command: string; category?: string }>) {
      assert.equal(c.category, 'etcd', c.command);
    }
  });

  it('every viewItem in a when clause is a contextValue some tree item produces, scoped to its view', () => {
    const produced = producedContextValues();
    assert.ok(produced.length > 10, 'contextValues found in the sources');
    const sample = (re: RegExp) =>
      re.source
        .replace(/^\^|\$$/g, '')
        .replace(/\[\^\.\]\+/g, '\u0000')
        .replace(/\\(.)/g, '$1');
    let checked = 0;
    for (const { menu, command, when } of whenClauses()) {
      if (!when.includes('viewItem')) continue;
      assert.match(
        when,
        /view == etcd\.\w+ && /,
        `${menu} ${command}: a viewItem test must name its view (values repeat across views)`,
      );
      for (const m of when.matchAll(/viewItem == ([\w.-]+)/g)) {
        checked++;
        assert.ok(
          produced.some((re) => re.test(m[1])),
          `${menu} ${command}: no tree item has contextValue ${m[1]}`,
        );
      }
      for (const m of when.matchAll(/viewItem =~ \/((?:[^/\\]|\\.)+)\//g)) {
        checked++;
        const re = new RegExp(m[1]);
        // A value built from a template (e.g. etcd.health.finding.<rule>) matches when the regex starts with its fixed part.
        const literal = m[1].replace(/^\^/, '').replace(/\\(.)/g, '$1');
        const matches = (p: RegExp) =>
          p.source.includes('[^.]+') ? literal.startsWith(sample(p).split('\u0000')[0]) : re.test(sample(p));
        assert.ok(produced.some(matches), `${menu} ${command}: no tree item's contextValue matches /${m[1]}/`);
      }
    }
    assert.ok(checked > 20, `viewItem tests found (${checked})`);
  });

  it('the connection node has one contextValue family (etcd.connection…) in every view that shows it', () => {
    for (const view of ['etcd.connections', 'etcd.leases', 'etcd.cluster', 'etcd.health']) {
      const clauses = whenClauses().filter((c) => c.when.startsWith(`view == ${view} && `) && /viewItem/.test(c.when));
      assert.ok(
        clauses.some((c) => /viewItem (== etcd\.connection|=~ \/\^etcd\\\.(\(connection|connection))/.test(c.when)),
        `${view}: its connection node's menus test etcd.connection…`,
      );
    }
  });
});
