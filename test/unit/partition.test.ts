import * as assert from 'node:assert/strict';
import {
  Bound,
  FinePosition,
  afterWord,
  classOf,
  endOf,
  isHexId,
  lessThan,
  splitAfter,
} from '../../src/etcd/keyspace/partition';
import { seededRandom } from '../rig/random';

describe('splitAfter (scan engine partition)', () => {
  it('covers every key after the anchor up to the bound exactly once, in key order (600 random cases)', () => {
    const rand = seededRandom(7);
    const alphabet = [
      0x00, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x35, 0x39, 0x3a, 0x41, 0x5a, 0x61, 0x62, 0x7a, 0x7b, 0x80, 0xfe, 0xff,
    ];
    const word = (n: number) =>
      Buffer.from(Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]));
    for (let c = 0; c < 600; c++) {
      const prefix = word(Math.floor(rand() * 3));
      const anchor = Buffer.concat([prefix, word(1 + Math.floor(rand() * 6))]);
      const isFolder = rand() < 0.5;
      const from = isFolder ? endOf(anchor) : Buffer.concat([anchor, Buffer.from([0])]);
      if (from === null) continue;
      // Every key in [from, hi) starts with the prefix (what `first` promises).
      const hiRaw = rand() < 0.3 ? null : Buffer.concat([prefix, word(1 + Math.floor(rand() * 6))]);
      const hi: Bound = hiRaw && Buffer.compare(hiRaw, from) > 0 ? hiRaw : endOf(prefix);
      const fine: FinePosition[] = [
        ...new Set(
          Array.from(
            { length: Math.floor(rand() * 3) },
            () => prefix.length + Math.floor(rand() * (anchor.length - prefix.length)),
          ),
        ),
      ]
        .sort((a, b) => a - b)
        .map((at) => ({
          at,
          alone: rand() < 0.3,
          values: [
            ...new Set([
              ...classOf(anchor[at]),
              ...Array.from({ length: Math.floor(rand() * 4) }, () => alphabet[Math.floor(rand() * alphabet.length)]),
            ]),
          ].sort((a, b) => a - b),
        }));
      const mergeAfter =
        rand() < 0.5 ? undefined : prefix.length - 1 + Math.floor(rand() * (anchor.length - prefix.length + 1));
      const sparseFirst = rand() < 0.5;
      const flat = rand() < 0.3;
      const lean = rand() < 0.5;
      const spans = splitAfter(anchor, from, hi, prefix.length, { fine, mergeAfter, sparseFirst, flat, lean });
      // Asked for at most n ranges, a split that needs more stops at n + 1 of them, the same first ones.
      const max = Math.floor(rand() * (spans.length + 2));
      const capped = splitAfter(anchor, from, hi, prefix.length, { fine, mergeAfter, sparseFirst, flat, lean }, max);
      assert.deepEqual(capped, spans.slice(0, max + 1), `case ${c}: capped at ${max}`);
      for (let i = 1; i < spans.length; i++)
        assert.ok(spans[i - 1].hi !== null && Buffer.compare(spans[i - 1].hi!, spans[i].lo) <= 0, 'disjoint, in order');
      for (let k = 0; k < 100; k++) {
        const key =
          rand() < 0.5
            ? Buffer.concat([
                anchor.subarray(0, Math.floor(rand() * (anchor.length + 1))),
                word(Math.floor(rand() * 4)),
              ])
            : Buffer.concat([prefix, word(Math.floor(rand() * 8))]);
        const inside: boolean = Buffer.compare(key, from) >= 0 && lessThan(key, hi);
        const hits = spans.filter((s) => Buffer.compare(key, s.lo) >= 0 && lessThan(key, s.hi)).length;
        assert.equal(
          hits,
          inside ? 1 : 0,
          `case ${c}: ${key.toString('hex')} anchor ${anchor.toString('hex')} fine ${JSON.stringify(fine)} merge ${mergeAfter} sparse ${sparseFirst} flat ${flat} lean ${lean}`,
        );
      }
    }
  });

  it('alone: keys that differ from the anchor at a position split on every byte are not split along its later bytes', () => {
    // After pr-1137, names with "e" at its "-" (preview-…) do not continue like it: without `alone` the "e" range
    // was cut along "1137" into ranges such names never fill, and the preview-… keys stayed in their last one.
    const anchor = Buffer.from('/p/pr-1137/');
    const wide = { at: 5, values: [0x2d, 0x2e, 0x61, 0x65, 0x7a] };
    const digits = { at: 6, values: classOf(0x31) };
    const split = (alone: boolean) =>
      splitAfter(anchor, endOf(anchor)!, endOf(Buffer.from('/p/')), 3, {
        fine: [{ ...wide, alone }, digits],
        mergeAfter: 6,
      });
    const holder = (spans: ReturnType<typeof split>, key: string) =>
      spans.find((s) => Buffer.compare(Buffer.from(key), s.lo) >= 0 && lessThan(Buffer.from(key), s.hi))!;
    const alone = split(true);
    const range = holder(alone, '/p/preview-0486d6/');
    assert.equal(range.lo.toString('latin1'), '/p/pre');
    assert.equal(range.hi!.toString('latin1'), '/p/prf');
    assert.ok(alone.length < split(false).length, `${alone.length} ranges alone, ${split(false).length} without`);
    // The anchor's own byte there still goes on along its digits: pr-2… has a range of its own.
    assert.equal(holder(alone, '/p/pr-2000/').lo.toString('latin1'), '/p/pr-2');
  });

  it('splits finely where names vary: one range per digit after the anchor', () => {
    const anchor = Buffer.from('/r/team-001/');
    const spans = splitAfter(anchor, endOf(anchor)!, endOf(Buffer.from('/r/')), 3, {
      fine: [{ at: 10, values: classOf(0x31) }],
      mergeAfter: 10,
    });
    const los = spans.map((s) => s.lo.toString('latin1'));
    for (let d = 2; d <= 9; d++) assert.ok(los.includes(`/r/team-00${d}`), `range for team-00${d}`);
  });

  it("lean: keys between the listed values share the next value's range, so two positions fit in fewer ranges", () => {
    const anchor = Buffer.from('/r/team-001-prod/');
    const fine: FinePosition[] = [
      { at: 10, values: classOf(0x31) },
      { at: 12, values: [0x70, 0x73] },
    ];
    const full = splitAfter(anchor, endOf(anchor)!, endOf(Buffer.from('/r/')), 3, { fine, mergeAfter: 12 });
    const lean = splitAfter(anchor, endOf(anchor)!, endOf(Buffer.from('/r/')), 3, { fine, mergeAfter: 12, lean: true });
    assert.ok(lean.length < full.length, `${lean.length} lean ranges, ${full.length} without`);
    // Each name of a listed combination still has a range to itself.
    const names = ['/r/team-001-staging/'];
    for (let d = 2; d <= 9; d++) names.push(`/r/team-00${d}-prod/`, `/r/team-00${d}-staging/`);
    const holder = (key: string) =>
      lean.findIndex((s) => Buffer.compare(Buffer.from(key), s.lo) >= 0 && lessThan(Buffer.from(key), s.hi));
    const ranges = names.map(holder);
    assert.ok(!ranges.includes(-1), 'every name covered');
    assert.equal(new Set(ranges).size, names.length, 'each in a range of its own');
  });

  it('lean: a gap never shares the range of keys that diverge from the anchor at an earlier position', () => {
    // Names seen so far all start with "a" and vary at their second byte; names after "a…" (most of the keys,
    // b… to z…) diverge at the first byte. Were the gap after the last listed second byte merged into their range,
    // its first key would be one more "a…" name and every wave would find one child there.
    const anchor = Buffer.from('/p/afb/');
    const fine: FinePosition[] = [{ at: 4, values: [0x61, 0x66, 0x68] }];
    const spans = splitAfter(anchor, endOf(anchor)!, endOf(Buffer.from('/p/')), 3, {
      fine,
      mergeAfter: 4,
      lean: true,
    });
    const holder = (key: string) =>
      spans.findIndex((s) => Buffer.compare(Buffer.from(key), s.lo) >= 0 && lessThan(Buffer.from(key), s.hi));
    assert.notEqual(holder('/p/azz/'), -1);
    assert.notEqual(holder('/p/azz/'), holder('/p/b/'), 'the a… gap and the b… keys are in different ranges');
    assert.equal(Buffer.compare(spans[holder('/p/b/')].lo, Buffer.from('/p/b')), 0, 'the b… range starts at b');
  });

  it('splits two levels: one range per name a digit longer, and one for the folder a digit shorter', () => {
    const anchor = Buffer.from('/r/s1/');
    const values = [0x2f, ...classOf(0x30)];
    const spans = splitAfter(anchor, endOf(anchor)!, endOf(Buffer.from('/r/')), 3, {
      fine: [
        { at: 4, values: classOf(0x31) },
        { at: 5, values },
      ],
      mergeAfter: 5,
    });
    const ranges = spans.map((s) => `${s.lo.toString('latin1')}..${s.hi?.toString('latin1')}`);
    assert.ok(ranges.includes('/r/s2/../r/s20'), 'the folder s2/ alone');
    for (let d = 0; d <= 9; d++) assert.ok(ranges.includes(`/r/s1${d}../r/s1${d + 1 === 10 ? ':' : d + 1}`), `s1${d}`);
    for (let d = 0; d <= 9; d++) assert.ok(ranges.includes(`/r/s7${d}../r/s7${d + 1 === 10 ? ':' : d + 1}`), `s7${d}`);
  });

  it('afterWord: where a word and its punctuation end and an id that is not a number starts', () => {
    const at = (name: string, from = 0) => afterWord(Buffer.from(name), from, name.length);
    assert.equal(at('preview-0486d6'), 8, 'hex after a word');
    assert.equal(at('api-5f3a'), 4);
    assert.equal(at('team_payments'), 5, 'a word after a word');
    assert.equal(at('api.example.net'), 4, 'a dot ends a word too');
    assert.equal(at('api001.iad2.example.net'), undefined, 'not past a number: names differ there first');
    assert.equal(at('web-1.prod.svc'), undefined, 'nor past a number after a word');
    assert.equal(at('pr-1137'), undefined, 'a number: its digits are enumerated anyway');
    assert.equal(at('team-042-prod'), undefined, 'a number, and a word after a number (not after a word)');
    assert.equal(at('2026-03-14'), undefined, 'no word before the dash');
    assert.equal(at('preview-0486d6', 9), undefined, 'only from `from` on');
    assert.equal(at('node-'), undefined, 'nothing after the dash');
  });

  it('isHexId: a token of at least 4 lowercase hex digits with a decimal digit among them', () => {
    const hexAt = (name: string, from = 0, stop = name.length) => isHexId(Buffer.from(name), from, stop);
    assert.equal(hexAt('preview-0486d6', 8), true);
    assert.equal(hexAt('preview-0486d6/', 8, 14), true, 'up to the stop given (a separator)');
    assert.equal(hexAt('preview-0486d6/', 8), false, 'the separator is no hex digit');
    assert.equal(hexAt('0486d6-web', 0), true, 'up to punctuation');
    assert.equal(hexAt('a1b2'), true);
    assert.equal(hexAt('a1b'), false, 'too short');
    assert.equal(hexAt('cafe'), false, 'a word of hex letters only');
    assert.equal(hexAt('0486g6'), false, 'a letter past f');
    assert.equal(hexAt('0486D6'), false, 'uppercase');
    assert.equal(hexAt('preview-0486d6', 0), false, 'from the word');
  });
});
