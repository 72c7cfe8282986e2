import { describe, expect, it } from 'vitest';
import { formatBytes, parseBytes, parseSizeSpec } from './bytes.js';

describe('byte sizes', () => {
  it('parses plain, decimal and binary units', () => {
    expect(parseBytes('1048576')).toBe(1048576);
    expect(parseBytes('10GiB')).toBe(10 * 2 ** 30);
    expect(parseBytes('10gib')).toBe(10 * 2 ** 30);
    expect(parseBytes('10G')).toBe(10 * 2 ** 30);
    expect(parseBytes('500MB')).toBe(500e6);
    expect(parseBytes('1.5 KiB')).toBe(1536);
    expect(parseBytes('7B')).toBe(7);
    expect(parseBytes(' 2k ')).toBe(2048);
  });

  it('says what is wrong with a bad size', () => {
    expect(parseBytes('ten gigs')).toMatch(/'ten gigs' is not a size: use bytes with a unit/);
    expect(parseBytes('10XB')).toMatch(/is not a size/);
    expect(parseBytes('-5MB')).toMatch(/is not a size/);
    expect(parseBytes('99999999PiB')).toMatch(/too large/);
  });

  it('parses a share of the filesystem', () => {
    expect(parseSizeSpec('10%')).toEqual({ fraction: 0.1 });
    expect(parseSizeSpec('2.5%')).toEqual({ fraction: 0.025 });
    expect(parseSizeSpec('10GiB')).toEqual({ bytes: 10 * 2 ** 30 });
    expect(parseSizeSpec('0%')).toMatch(/above 0% and at most 100%/);
    expect(parseSizeSpec('150%')).toMatch(/above 0% and at most 100%/);
    expect(parseSizeSpec('lots')).toMatch(/is not a size/);
  });

  it('formats sizes for messages', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(10 * 2 ** 30)).toBe('10 GiB');
    expect(formatBytes(123.4 * 2 ** 20)).toBe('123 MiB');
  });
});
