/** Position and reason of the first JSON syntax error (RFC 8259), or undefined for valid JSON. */
export function jsonSyntaxError(text: string): { at: number; message: string } | undefined {
  let i = 0;
  class Fail {
    constructor(
      readonly at: number,
      readonly message: string,
    ) {}
  }
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (message: string): never => {
    throw new Fail(i, i >= text.length ? 'unexpected end of the text' : message);
  };
  const expect = (c: string, what: string) => (text[i] === c ? i++ : fail(`expected ${what}, found ${JSON.stringify(text[i])}`));
  const string = () => {
    expect('"', 'a double-quoted string');
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail('control character in a string (escape it)');
      if (text[i] === '\\') {
        const esc = /^\\(["\\/bfnrt]|u[0-9a-fA-F]{4})/.exec(text.slice(i, i + 6));
        if (!esc) fail('invalid escape in a string (JSON has \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)');
        i += esc![0].length;
      } else i++;
    }
    expect('"', 'the closing quote');
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        string();
        ws();
        expect(':', '":"');
        value();
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === '}') fail('trailing comma');
          continue;
        }
        return void expect('}', '"," or "}"');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === ']') fail('trailing comma');
          continue;
        }
        return void expect(']', '"," or "]"');
      }
    }
    if (c === '"') return string();
    const lit = /^(true|false|null|-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (lit && lit[0]) return void (i += lit[0].length);
    fail(`unexpected ${JSON.stringify(c)}`);
  };
  try {
    value();
    ws();
    if (i < text.length) fail(`unexpected ${JSON.stringify(text[i])} after the end of the document`);
    return undefined;
  } catch (err) {
    if (err instanceof Fail) return { at: err.at, message: err.message };
    throw err;
  }
}
