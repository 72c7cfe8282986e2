import { describe, expect, it } from 'vitest';
import { BinaryHeap } from './binary-heap.js';

describe('BinaryHeap', () => {
  it('pops in comparator order, whatever the push order', () => {
    let seed = 7;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const values = Array.from({ length: 500 }, () => Math.floor(rand() * 100));
    const heap = new BinaryHeap<number>((a, b) => a > b);
    for (const v of values) heap.push(v);
    expect(heap.size).toBe(500);
    const out: number[] = [];
    for (let v = heap.pop(); v !== undefined; v = heap.pop()) out.push(v);
    expect(out).toEqual([...values].sort((a, b) => b - a));
    expect(heap.size).toBe(0);
    expect(heap.pop()).toBeUndefined();
  });

  it('interleaves pushes and pops', () => {
    const heap = new BinaryHeap<number>((a, b) => a < b);
    heap.push(5);
    heap.push(1);
    expect(heap.pop()).toBe(1);
    heap.push(3);
    heap.push(0);
    expect([heap.pop(), heap.pop(), heap.pop()]).toEqual([0, 3, 5]);
  });
});
