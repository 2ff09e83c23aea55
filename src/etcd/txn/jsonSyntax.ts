import { ParseError, ParseErrorCode, parse } from 'jsonc-parser';

/**
 * Position and reason of the first JSON syntax error (strict RFC 8259: no comments, no trailing commas), or
 * undefined for valid JSON. The scanning is jsonc-parser's (the parser VS Code's own JSON support uses); this
 * only words its error codes for people and points at the offending character.
 */
export function jsonSyntaxError(text: string): { at: number; message: string } | undefined {
  const errors: ParseError[] = [];
  parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return undefined;
  return describe(text, first);
}

function describe(text: string, error: ParseError): { at: number; message: string } {
  const at = error.offset;
  if (at >= text.length) return { at: text.length, message: 'unexpected end of the text' };
  const ch = text[at];
  const afterComma = /,\s*$/.test(text.slice(0, at));
  switch (error.error) {
    case ParseErrorCode.InvalidEscapeCharacter: {
      // Reported at the string; point at the bad backslash inside it.
      const bad = /\\(?!["\\/bfnrt]|u[0-9a-fA-F]{4})/.exec(text.slice(at, at + error.length));
      return {
        at: bad ? at + bad.index : at,
        message: 'invalid escape in a string (JSON has \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)',
      };
    }
    case ParseErrorCode.InvalidCharacter:
      return { at, message: 'control character in a string (escape it)' };
    case ParseErrorCode.InvalidUnicode:
      return { at, message: 'invalid \\u escape in a string' };
    case ParseErrorCode.UnexpectedEndOfString:
    case ParseErrorCode.UnexpectedEndOfNumber:
    case ParseErrorCode.UnexpectedEndOfComment:
      return { at, message: 'unexpected end of the text' };
    case ParseErrorCode.InvalidNumberFormat:
      return { at, message: 'invalid number' };
    case ParseErrorCode.InvalidCommentToken:
      return { at, message: 'comments are not allowed in JSON' };
    case ParseErrorCode.ColonExpected:
      return { at, message: `expected ":", found ${JSON.stringify(ch)}` };
    case ParseErrorCode.CommaExpected:
      return { at, message: `expected "," before ${JSON.stringify(ch)}` };
    case ParseErrorCode.CloseBraceExpected:
      return { at, message: `expected "," or "}", found ${JSON.stringify(ch)}` };
    case ParseErrorCode.CloseBracketExpected:
      return { at, message: `expected "," or "]", found ${JSON.stringify(ch)}` };
    case ParseErrorCode.EndOfFileExpected:
      return { at, message: 'text after the end of the JSON value' };
    case ParseErrorCode.PropertyNameExpected:
    case ParseErrorCode.ValueExpected:
    case ParseErrorCode.InvalidSymbol:
    default:
      if ((ch === '}' || ch === ']') && afterComma) return { at, message: 'trailing comma' };
      if (ch === "'") return { at, message: 'expected a double-quoted string (JSON has no single quotes)' };
      return { at, message: `unexpected ${JSON.stringify(ch)}` };
  }
}
