/**
 * How each Masimo model prints its ASCII 1 line (key order and number shapes from the real lines
 * in firmware-profiles/masimo/testcases/, key sets in docs/protocols/masimo.md): Rad-8 and Radical-7 from
 * real lines, Radical-5 from the key list.
 */
import type { TokenFormat } from '../../../gateway/src/protocols/masimo/index.js';

export type MasimoModel = 'radical7' | 'rad8' | 'radical5' | 'root';
export const MASIMO_MODELS: readonly MasimoModel[] = ['radical7', 'rad8', 'radical5', 'root'];

/** Token → source value name (see simulator.ts) and print format. 'SN' and 'RESVD' are text. */
export interface TokenSpec {
  key: string;
  source: string;
  fmt: TokenFormat;
}

const T = (key: string, source: string, fmt: TokenFormat): TokenSpec => ({ key, source, fmt });

const RAD8: TokenSpec[] = [
  T('SN', 'sn', { int: 10 }),
  T('SPO2', 'spo2', { int: 3, pct: true }),
  T('BPM', 'bpm', { int: 3 }),
  T('PI', 'pi', { int: 2, dec: 2, pct: true }),
  T('SPCO', 'spco', { int: 2, dec: 1, pct: true }),
  T('SPMET', 'spmet', { int: 2, dec: 1, pct: true }),
  T('DESAT', 'desat', { int: 2 }),
  T('PIDELTA', 'pidelta', { int: 2, sign: true }),
  T('ALARM', 'alarm', { int: 4, hex: true }),
  T('EXC', 'exc', { int: 6, hex: true }),
];

const RADICAL7: TokenSpec[] = [
  T('SN', 'sn', { int: 10 }),
  T('SPO2', 'spo2', { int: 3, pct: true }),
  T('BPM', 'bpm', { int: 3 }),
  T('PI', 'pi', { int: 2, dec: 2 }),
  T('SPCO', 'spco', { int: 2, pct: true }),
  T('SPMET', 'spmet', { int: 2, dec: 1, pct: true }),
  T('SPHB', 'sphb', { int: 2, dec: 1 }),
  T('SPOC', 'spoc', { int: 2 }),
  T('RESVD', 'resvd', { int: 3 }),
  T('DESAT', 'desat', { int: 2 }),
  T('PIDELTA', 'pidelta', { int: 2, sign: true }),
  T('PVI', 'pvi', { int: 3 }),
  T('ALARM', 'alarm', { int: 6, hex: true }),
  T('EXC', 'exc', { int: 7, hex: true }),
  T('EXC1', 'exc1', { int: 8, hex: true }),
];

const RADICAL5: TokenSpec[] = [
  T('SPO2', 'spo2', { int: 3, pct: true }),
  T('BPM', 'bpm', { int: 3 }),
  T('PI', 'pi', { int: 2, dec: 2, pct: true }),
  T('ALARM', 'alarm', { int: 4, hex: true }),
  T('EXC', 'exc', { int: 6, hex: true }),
];

export const MODEL_TOKENS: Record<MasimoModel, TokenSpec[]> = { rad8: RAD8, radical7: RADICAL7, radical5: RADICAL5, root: RADICAL7 };

/** The profile the gateway should use for each simulated model. */
export const MODEL_PROFILE: Record<MasimoModel, string> = {
  rad8: 'masimo/rad-8/ascii1',
  radical7: 'masimo/radical-7/ascii1',
  radical5: 'masimo/radical-5/ascii1',
  root: 'masimo/root/ascii1',
};
