/**
 * The clinical workflow end to end, on real components: Debian's InfluxDB, ingest (startIngest) with
 * its embedded aedes broker, its HIS MLLP listener and one outbound HL7 endpoint (a loopback MLLP
 * record system, ingest/src/hl7-out/test-emr.ts), two REAL gateways reading simulated devices on
 * pty pairs (socat): a GE S/5 in OR1 (DRI, every artifact kind of physiology/artifacts.ts injected,
 * seeded, spans recorded) and a Masimo Radical-7 in the PACU (sensor-off faults: probe-off dropouts
 * and the alarm's start/end). Both simulators follow ONE physiology model: one patient.
 *
 * Sequence: SIU^S12 books the case in OR1 → ADT^A02 brings the patient to OR1's table (the case
 * opens at the event time, bound to the booking) → the monitor streams with the artifacts while the
 * record system (a `recorder` token over real HTTP) posts in-room … out-of-room → the record system's
 * endpoint goes down for "an hour" and comes back → `pacu-in` moves the case to the PACU bed, the
 * oximeter's readings continue the case → ADT^A03 closes it. Then: the chart equals the truth at
 * every grid point and rejects every injected artifact by its rule; every PCD-01 window and every
 * PCD-04 alarm change arrived once, ACKed, parsed by python3-hl7; billing and QC show the case.
 *
 * What is compressed, honestly: the devices run on the real clock (device time = wall time, as the
 * ingest side is on the wall clock too), so the case is ~1 real minute (42 s in OR1, 18 s in the
 * PACU), not hours; the chart is read at its finest grid (1m: a 5-min grid would put the whole case
 * in one point, at 1m each bed's part of each series has one or two). Artifacts are shorter than the
 * schedule in artifacts.ts makes them (1–3 s, recovery 5 s as real) so that every kind fits in the
 * OR minute. The PCD-01 interval is 250 ms standing for the usual minute, so the outage of 60
 * intervals (15 s) stands for an hour.
 */
import t from 'tap';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startClinicalRig, type ClinicalRig } from './clinical-rig.js';
import { compareChart, nibpMeasurements, type Chart, type SeriesTruth } from './clinical-truth.js';
import { buildConfig } from '../../gateway/src/config.js';
import { startGateway } from '../../gateway/src/main.js';
import { MllpFramer, mllpWrap } from '../../gateway/src/protocols/hl7-mllp/mllp.js';
import { comp, parseHl7 } from '../../gateway/src/protocols/hl7-mllp/hl7.js';
import { parseHl7Time } from '../../gateway/src/protocols/hl7-mllp/hl7-time.js';
import { openPtyPair } from '../../simulators/src/link/pty.js';
import { serveSerial } from '../../simulators/src/serve-serial.js';
import { GeDriSimulator } from '../../simulators/src/ge-dri/simulator.js';
import { MasimoSimulator } from '../../simulators/src/masimo/simulator.js';
import { PhysiologyModel, type ArtifactSpec } from '../../simulators/src/physiology/index.js';
import type { Produced, ProducedNumeric } from '../../simulators/src/ge-dri/truth.js';
import type { OxiProduced } from '../../simulators/src/masimo/truth.js';
import { REASON_OF } from '../../ingest/src/chart/sim-case.fixture.js';
import { checkProfile } from '../../ingest/src/hl7-out/profile-check.js';
import { familyOf, FAMILIES } from '../../ingest/src/reports/families.js';
import { adt, siu } from '../../ingest/src/his/test-messages.js';
import type { Received } from '../../ingest/src/hl7-out/test-emr.js';

const I = 250; // PCD-01 interval, ms ("a minute")
const OUTAGE_INTERVALS = 60; // "an hour"
const OR_S = 42; // seconds in OR1 (from the A02 to pacu-in)
const PACU_S = 18; // seconds in the PACU (to the A03)
const MIN = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await sleep(50);
  }
}
const waitUntilWall = async (at: number) => {
  if (at > Date.now()) await sleep(at - Date.now());
};

/** GE vital → the DRI vendor code it travels under (simulators/src/ge-dri/phdb-builder.ts) */
const GE_CODE: Record<string, string> = {
  hr: 'ecg.hr',
  pulseRate: 'spo2.pr',
  spo2: 'spo2.spo2',
  artSys: 'p1.sys',
  artDia: 'p1.dia',
  artMean: 'p1.mean',
  artPulseRate: 'p1.hr',
};

/** an MLLP sender (the HIS interface engine): one message at a time, waits (bounded) for its ACK */
async function hisSender(port: number) {
  const sock = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const framer = new MllpFramer();
  const acks: string[] = [];
  sock.on('data', (c: Buffer) => {
    for (const f of framer.push(c)) acks.push(f.toString('utf8'));
  });
  return {
    async send(text: string): Promise<string> {
      const n = acks.length;
      sock.write(mllpWrap(text));
      await until('HIS ACK', () => acks.length > n, 10_000);
      return acks[n]!;
    },
    close: () => sock.destroy(),
  };
}
const ackCode = (ack: string) => {
  const m = parseHl7(Buffer.from(ack));
  return comp(
    m,
    m.segments.find((s) => s.id === 'MSA'),
    1,
  );
};

function pyParseAll(texts: string[]): string[][] {
  const script = 'import sys, json, hl7\nprint(json.dumps([[str(s[0]) for s in hl7.parse(m)] for m in json.load(sys.stdin)]))';
  const r = spawnSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify(texts), encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python3 hl7 failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[][];
}

t.test(
  'clinical workflow: SIU + ADT open the case, monitor with artifacts → chart = truth, PCD-01/04 across an "hour" outage (60 × 250 ms), PACU, billing, QC',
  async (t) => {
    const rig: ClinicalRig = await startClinicalRig(t, { intervalMs: I });
    const { ingest, emr } = rig;

    // ---- the devices: one patient, two beds ----
    // the timeline of the case (device time = wall time), fixed before the devices start so the
    // artifacts can be scheduled inside OR1's part of the case
    const B = Math.ceil(Date.now() / 1000) * 1000 + 6000; // a whole second, after the start-up
    const Tc = B; // A02 to OR1 (HL7 times: whole seconds)
    const Tm = B + OR_S * 1000 - 500; // pacu-in (REST: ms), between two readings
    const Te = B + (OR_S + PACU_S) * 1000; // A03
    const at = (s: number) => B + s * 1000;
    const artifacts: ArtifactSpec[] = [
      { kind: 'art-flush', at: at(3), durationS: 2 },
      { kind: 'art-zero', at: at(12), durationS: 2 },
      { kind: 'spo2-dropout', at: at(21), durationS: 3 },
      { kind: 'spo2-motion', at: at(26), durationS: 3 },
      { kind: 'ecg-cautery', at: at(31), durationS: 3 },
      { kind: 'impossible-value', at: at(36), durationS: 1, vital: 'hr' },
      { kind: 'impossible-value', at: at(38), durationS: 1, vital: 'spo2' },
    ];

    const model = new PhysiologyModel({ seed: 61 });
    const geClean: ProducedNumeric[] = [];
    const geShown: ProducedNumeric[] = [];
    const oxi: OxiProduced[] = [];
    const ge = new GeDriSimulator({
      seed: 61,
      physiology: model,
      logger: rig.logger,
      artifacts: { specs: artifacts, seed: 61 },
      onProduced: (r: Produced) => {
        if (r.kind === 'numeric') geShown.push(r);
      },
    });
    ge.on('clean', (rs: Produced[]) => {
      for (const r of rs) if (r.kind === 'numeric') geClean.push(r);
    });
    const masimo = new MasimoSimulator({
      model: 'radical7',
      seed: 62,
      physiology: model,
      faults: { sensorOff: { everyMs: 6_000, durationMs: 2_000 } },
      onProduced: (r) => oxi.push(r),
    });
    const devices = [
      { sim: ge, gw: 'gw-or1', bed: 'or1-bed', room: 'OR1', id: 'or1-s5', protocol: 'ge-dri', options: { intervalS: 1, waves: [] } },
      { sim: masimo, gw: 'gw-pacu1', bed: 'pacu1-bed', room: 'PACU', id: 'pacu1-spo2', protocol: 'masimo', options: {} },
    ];
    for (const d of devices) {
      const pty = await openPtyPair();
      t.teardown(() => pty.close());
      d.sim.start();
      t.teardown(() => d.sim.close());
      const serial = serveSerial(pty.devicePath, d.sim, rig.logger);
      t.teardown(() => serial.stop());
      await serial.opened;
      const gateway = await startGateway(
        buildConfig(
          {
            gatewayId: d.gw,
            site: 'main',
            room: d.room,
            bed: d.bed,
            mqtt: { url: ingest.mqttUrl, username: d.gw, publishIntervalMs: 250 },
            outbox: { kind: 'file', dir: join(rig.dir, 'outbox', d.gw) },
            devices: [{ id: d.id, protocol: d.protocol, profile: 'auto', transport: { kind: 'serial', path: pty.hostPath }, options: d.options }],
            log: { level: 'warn' },
          },
          { ORLINK_MQTT_PASSWORD: rig.passwords[d.gw]! },
        ),
        { logger: rig.logger },
      );
      t.teardown(() => gateway.close());
    }
    await until('both devices streaming', () => geClean.length > 0 && oxi.length > 0);
    t.ok(Date.now() < Tc - 1000, 'the devices stream before the patient arrives');
    t.same(
      ge.artifactSpans().map((s) => s.kind),
      ['art-flush', 'art-zero', 'spo2-dropout', 'spo2-motion', 'ecg-cautery', 'impossible-value', 'impossible-value'],
      'every artifact kind scheduled in OR1',
    );

    // ---- HIS: the booking, then the patient arrives in OR1 ----
    const his = await hisSender(ingest.his!.port);
    t.teardown(() => his.close());
    t.equal(
      ackCode(await his.send(siu({ controlId: 'S1', appointment: 'APT-1', start: Tc + 5 * MIN, minutes: 90, location: 'OP^OR1^T1' }))),
      'AA',
      'SIU^S12 accepted',
    );
    type Sched = { appointment: string; roomId: string | null; bedId: string | null; state: string; caseId: string | null; plannedStart: number | null };
    const schedule = async () => ((await rig.as('recorder', 'GET', '/schedule?room=OR1')).body as Sched[]).find((e) => e.appointment === 'APT-1');
    t.match(
      await schedule(),
      { roomId: 'OR1', bedId: 'or1-bed', state: 'scheduled', caseId: null, plannedStart: Tc + 5 * MIN },
      'the booking is on the schedule',
    );
    await waitUntilWall(Tc + 200);
    t.equal(ackCode(await his.send(adt('A02', 'A1', Tc, 'OP^OR1^T1'))), 'AA', 'ADT^A02 to OR1 accepted');
    const open = await rig.as('admin', 'GET', '/cases?bed=or1-bed&state=open');
    const kase = (open.body as { cases: { id: string; start: number; externalIds: Record<string, string> }[] }).cases.find((c) => c.start === Tc);
    t.ok(kase, 'the A02 opened a case at its event time');
    if (!kase) return;
    t.equal(kase.externalIds.appointment, 'APT-1', 'bound to the booking (late binding)');
    const caseId = kase.id;
    t.match(await schedule(), { state: 'in-progress', caseId }, 'the booking is in progress, bound to the case');

    // ---- the record system posts events while the monitor streams ----
    const ev = async (kind: string, tt: number, extra: object = {}) => {
      const r = await rig.as('recorder', 'POST', `/cases/${caseId}/events`, { kind, t: tt, ...extra });
      t.equal(r.status, 201, `event ${kind}`);
    };
    await ev('in-room', Tc + 300);
    await ev('anesthesia-start', Tc + 2_000);
    await ev('induction', Tc + 4_000);
    await ev('incision', Tc + 10_000);

    // ---- the record system's endpoint goes down for "an hour", across the move to the PACU ----
    await until('PCD-01 flowing before the outage', () => rig.pcd01().length >= 5);
    await waitUntilWall(at(33));
    await emr.stop();
    const downAt = Date.now();
    await waitUntilWall(at(35));
    await ev('surgery-end', at(35));
    await waitUntilWall(Tm - 1_500);
    await ev('out-of-room', Tm - 1_000);
    await waitUntilWall(Tm + 200);
    await ev('pacu-in', Tm, { bed: 'pacu1-bed' });
    await waitUntilWall(downAt + OUTAGE_INTERVALS * I);
    t.equal(emr.received.filter((r) => r.at >= downAt).length, 0, 'nothing reached the endpoint during the outage');
    const status = await rig.as('admin', 'GET', '/hl7-out/status');
    t.ok(
      (status.body as { endpoints: { queued: number }[] }).endpoints[0]!.queued >= 10,
      `ingest kept producing during the outage (${JSON.stringify(status.body)})`,
    );
    await emr.start();

    // ---- the PACU: the case continues on the oximeter; the A03 closes it ----
    await waitUntilWall(Te + 200);
    t.equal(ackCode(await his.send(adt('A03', 'A3', Te, 'PACU^AWR^B1'))), 'AA', 'ADT^A03 accepted');
    const closed = await rig.as('recorder', 'GET', `/cases/${caseId}`);
    const c = closed.body as { end: number | null; bindings: { bed: string; from: number; to: number | null }[] };
    t.equal(c.end, Te, 'closed at the discharge time');
    t.same(
      c.bindings.map((b) => [b.bed, b.from, b.to]),
      [
        ['or1-bed', Tc, Tm],
        ['pacu1-bed', Tm, Te],
      ],
      'OR1 up to pacu-in, PACU after',
    );
    t.match(await schedule(), { state: 'done', caseId }, 'the booking is done');

    // everything stored and delivered (bounded waits)
    await until('every reading stored', async () => {
      const tl = await rig.as('admin', 'GET', `/cases/${caseId}/timeline`);
      const pts = (tl.body as { numerics: { device: string; points: [number, number | null][] }[] }).numerics.flatMap((n) => n.points.map((p) => p[0]));
      return pts.some((x) => x >= Te - 1500) && pts.some((x) => x >= Tm - 1500 && x < Tm);
    });
    await until(
      'hl7-out drained',
      async () => {
        const s = await rig.as('admin', 'GET', '/hl7-out/status');
        const e = (s.body as { endpoints: { queued: number }[] }).endpoints[0]!;
        return e.queued === 0 && ingest.hl7Out!.queue.mark('emr', caseId, 'pcd01') === null;
      },
      20_000,
    ).catch((err) => t.fail(String(err)));

    // ---- the chart equals the truth ----
    const chartRes = await rig.as('recorder', 'GET', `/cases/${caseId}/chart?grid=1m`);
    t.equal(chartRes.status, 200, 'chart for the recorder');
    const chart = chartRes.body as Chart;
    const truths: SeriesTruth[] = [];
    const spans = ge.artifactSpans();
    const geCodes = [...new Set(geClean.map((n) => n.vendorCode))];
    for (const code of geCodes) {
      const clean = new Map(geClean.filter((n) => n.vendorCode === code).map((n) => [n.t, n.value]));
      const arts = new Map<number, string>();
      for (const sp of spans) for (const v of sp.vitals) if (GE_CODE[v] === code) for (let x = sp.from; x < sp.to; x += 1000) arts.set(x, REASON_OF[sp.kind]);
      const tr: SeriesTruth = { device: 'or1-s5', vendorCode: code, from: Tc, to: Tm, clean, artifacts: arts };
      if (code.startsWith('nibp.')) {
        const runs = nibpMeasurements(
          [...new Set(geClean.filter((n) => n.vendorCode.startsWith('nibp.')).map((n) => n.t))].map((x) => {
            const v = (f: string) => geClean.find((n) => n.t === x && n.vendorCode === `nibp.${f}`)?.value;
            return { t: x, sys: v('sys'), dia: v('dia'), mean: v('mean') };
          }),
        );
        const f = code.slice(5) as 'sys' | 'dia' | 'mean';
        tr.nibp = new Map([...runs].map(([x, r]) => [x, r[f]!]));
      }
      truths.push(tr);
    }
    const oxiNum = oxi.filter((r): r is Extract<OxiProduced, { kind: 'numeric' }> => r.kind === 'numeric');
    const oxiTimes = new Set(oxiNum.map((r) => r.t));
    for (const code of ['SPO2', 'BPM']) {
      const arts = new Map<number, string>();
      // sensor off: the line carries dashes (no value): a dropout, for SpO2 and the oximeter's pulse rate
      for (let x = Math.ceil(Tm / 1000) * 1000; x < Te; x += 1000) if (!oxiTimes.has(x)) arts.set(x, 'spo2-dropout');
      truths.push({
        device: 'pacu1-spo2',
        vendorCode: code,
        from: Tm,
        to: Te,
        clean: new Map(oxiNum.filter((r) => r.vendorCode === code).map((r) => [r.t, r.value])),
        artifacts: arts,
      });
    }
    const cmp = compareChart(chart, truths);
    t.equal(chart.gridMs, MIN);
    t.ok(
      cmp.points >= truths.length,
      `${cmp.points} grid points checked over ${truths.length} series (${cmp.exact} artifact-free, ${cmp.withArtifacts} with artifacts)`,
    );
    t.ok(cmp.artifactReadings >= 30, `${cmp.artifactReadings} artifact readings in the case`);
    t.same(cmp.mismatches, [], 'every grid point equals the truth');
    t.same(cmp.missed, [], 'every injected artifact reading rejected by its rule');
    t.same(cmp.spurious, [], 'nothing else rejected');
    const kinds = new Set<string>();
    for (const s of chart.series) for (const p of s.points) for (const r of p.rejected ?? []) kinds.add(r.reason);
    for (const k of ['art-flush', 'art-zero', 'spo2-dropout', 'spo2-motion', 'ecg-cautery', 'impossible'])
      t.ok(kinds.has(k), `the chart rejected readings as ${k}`);
    t.ok(
      chart.series.some((s) => s.device === 'pacu1-spo2' && s.points.some((p) => p.value !== null)),
      'the chart continues on the PACU bed',
    );

    // ---- PCD-01 / PCD-04 at the record system ----
    const byId = new Map<string, Received>();
    for (const r of emr.received) {
      const prev = byId.get(r.controlId);
      if (prev) t.equal(r.text, prev.text, `a resend of ${r.controlId} is byte-identical`);
      else byId.set(r.controlId, r);
    }
    const unique = [...byId.values()];
    const problems = unique.flatMap((r) => checkProfile(r.text, r.type === 'ORU^R01' ? 'PCD-01' : 'PCD-04').map((p) => `${r.controlId}: ${p}`));
    t.same(problems.slice(0, 10), [], "every message has the profile's required fields");
    const parsed = pyParseAll(unique.map((r) => r.text));
    t.ok(
      parsed.length === unique.length && parsed.every((s) => s.slice(0, 4).join() === 'MSH,PID,PV1,OBR' && s.length >= 5),
      `python3-hl7 parses all ${parsed.length} messages`,
    );
    const st = (await rig.as('admin', 'GET', '/hl7-out/status')).body as { endpoints: { queued: number; dead: number; lastAckCode: string; acked: number }[] };
    t.match(st.endpoints[0], { queued: 0, dead: 0, lastAckCode: 'AA' }, 'nothing left to send, none dead, last ACK AA');
    t.ok(st.endpoints[0]!.acked >= unique.length, `every message ACKed (${st.endpoints[0]!.acked} ACKs, ${unique.length} messages)`);

    // every window holding a stored reading of the case has exactly one PCD-01, with the readings' values
    const tl = (await rig.as('admin', 'GET', `/cases/${caseId}/timeline`)).body as { numerics: { mdc: string | null; points: [number, number | null][] }[] };
    const want = new Set<number>();
    for (const n of tl.numerics) if (n.mdc) for (const [x] of n.points) want.add(Math.floor(x / I));
    const got: number[] = [];
    let wrongValue = 0;
    let values = 0;
    const shownAt = new Map<string, number>();
    for (const n of geShown) if (n.t >= Tc && n.t < Tm) shownAt.set(`${n.mdc}@${n.t}`, n.value);
    for (const n of oxiNum) if (n.t >= Tm && n.t < Te && n.mdc) shownAt.set(`${n.mdc}@${n.t}`, n.value);
    for (const r of unique.filter((x) => x.type === 'ORU^R01')) {
      const m = parseHl7(Buffer.from(r.text));
      const obr = m.segments.find((s) => s.id === 'OBR');
      got.push(Math.floor((parseHl7Time(comp(m, obr, 7)) as number) / I));
      for (const obx of m.segments.filter((s) => s.id === 'OBX')) {
        const v = comp(m, obx, 5);
        const truth = shownAt.get(`${comp(m, obx, 3, 2)}@${parseHl7Time(comp(m, obx, 14))}`);
        if (v === '' || truth === undefined) continue;
        values++;
        if (Number(v) !== truth) wrongValue++;
      }
    }
    t.equal(new Set(got).size, got.length, 'no window sent twice');
    const missing = [...want].filter((w) => !got.includes(w)).map((w) => new Date(w * I).toISOString());
    t.same(missing, [], `every window with readings arrived (${want.size} windows, ${got.length} messages)`);
    t.ok(values > 500, `${values} OBX values checked`);
    t.equal(wrongValue, 0, 'every OBX value is the reading the device sent');
    t.ok(got.some((w) => w * I < Tm) && got.some((w) => w * I >= Tm), 'PCD-01 from both beds');

    // every alarm change in the case (the oximeter's sensor-off in the PACU) as one PCD-04, in order
    const alarmTruth = oxi
      .filter((r) => r.kind === 'alarm' && r.t >= Tm && r.t < Te)
      .map((r) => [(r as { text: string }).text, (r as { phase: string }).phase]);
    const alarmsGot = unique
      .filter((r) => r.type === 'ORU^R40')
      .map((r) => {
        const m = parseHl7(Buffer.from(r.text));
        const obx = m.segments.filter((s) => s.id === 'OBX');
        return [comp(m, obx[1], 5), comp(m, obx[2], 5)];
      });
    t.ok(alarmTruth.length >= 4, `${alarmTruth.length} alarm changes in the PACU`);
    t.same(alarmsGot, alarmTruth, 'every alarm change arrived once, in order (PCD-04)');
    t.ok(
      unique.some((r) => r.type === 'ORU^R40' && r.at >= downAt + OUTAGE_INTERVALS * I),
      'alarm changes of the outage delivered after it',
    );

    // ---- billing ----
    const bill = await rig.as('recorder', 'GET', `/cases/${caseId}/billing`);
    t.equal(bill.status, 200, 'billing for the recorder');
    const b = bill.body as { caseMinutes: number; open: boolean; families: { family: string; monitoredMinutes: number; measurements: number | null }[] };
    const minutes = (from: number, to: number) => Math.floor((to - 1) / MIN) - Math.floor(from / MIN) + 1;
    t.equal(b.open, false);
    t.equal(b.caseMinutes, minutes(Tc, Te), 'case minutes = the UTC minutes the case overlaps');
    const monitored = new Map<string, Set<number>>();
    const add = (mdc: string | null, tt: number) => {
      const f = mdc ? familyOf(mdc) : null;
      if (f && f !== 'nibp') {
        const s = monitored.get(f) ?? new Set<number>();
        s.add(Math.floor(tt / MIN));
        monitored.set(f, s);
      }
    };
    for (const n of geShown) if (n.t >= Tc && n.t < Tm) add(n.mdc, n.t);
    for (const n of oxiNum) if (n.t >= Tm && n.t < Te) add(n.mdc, n.t);
    t.same(
      b.families.map((f) => f.family),
      [...FAMILIES],
      'all seven families',
    );
    for (const f of b.families)
      if (f.family !== 'nibp')
        t.equal(f.monitoredMinutes, monitored.get(f.family)?.size ?? 0, `${f.family}: monitored minutes = minutes with a valid streamed value`);
    t.ok((b.families.find((f) => f.family === 'ecg')?.monitoredMinutes ?? 0) >= 1, 'ECG monitored');

    // ---- QC ----
    const qc = await rig.as('viewer', 'GET', `/qc?from=${Tc - MIN}&to=${Te + MIN}`);
    t.equal(qc.status, 200, 'QC report for the viewer');
    const q = qc.body as {
      cases: {
        caseId: string;
        anesthesia: { from: number; to: number; fromEvents: boolean };
        minutesToIncision: number | null;
        completeness: { missing: string[] };
        families: { family: string; monitored: boolean }[];
      }[];
      devices: { device: string; uptime: number | null }[];
    };
    const qcase = q.cases.find((x) => x.caseId === caseId);
    t.ok(qcase, 'the QC report shows the case');
    t.match(qcase?.anesthesia, { from: Tc + 2_000, to: Tm - 1_000, fromEvents: true }, 'anesthesia time from anesthesia-start to out-of-room');
    t.equal(qcase?.minutesToIncision, Math.round(((10_000 - 2_000) / MIN) * 10) / 10, 'minutes to incision');
    t.same(qcase?.completeness.missing, [], 'documentation complete');
    t.ok(qcase?.families.find((f) => f.family === 'ecg')?.monitored, 'ECG monitored during anesthesia');
    const or1 = q.devices.find((x) => x.device === 'or1-s5');
    t.equal(or1?.uptime, 1, 'or1-s5: link up every minute its bed had the case');
    // the PACU stay is ~18 s and may straddle a minute boundary: a minute in which the oximeter had not yet
    // stored a reading (link start, sensor-off faults) counts as down, so only a share in (0, 1] is certain
    const pacu = q.devices.find((x) => x.device === 'pacu1-spo2');
    t.ok(pacu?.uptime != null && pacu.uptime > 0 && pacu.uptime <= 1, `pacu1-spo2: link up in the PACU minutes (${pacu?.uptime})`);
  },
);
