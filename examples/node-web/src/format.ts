import prettyBytes from 'pretty-bytes';

// Renders a byte count the way a person would read it ("1.34 kB").
export function size(bytes: number): string {
  return prettyBytes(Math.max(0, Math.round(bytes)));
}
