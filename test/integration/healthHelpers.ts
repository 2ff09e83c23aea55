import { MemberClients } from '../../src/etcd/cluster';
import { EtcdConnection } from '../../src/etcd/connection';
import { CheckOptions, HealthDoctor, HealthDoctorOptions } from '../../src/etcd/health';
import { HealthReport, RuleId } from '../../src/etcd/health/model';
import { silentLogger } from '../../src/etcd/logger';
import { EtcdCluster } from '../rig/etcd';
import { until } from '../rig/wait';

/** What the doctor's integration tests share: a doctor on its own connection, and checking until a report holds. */

export const has = (r: HealthReport, rule: RuleId) => r.findings.some((f) => f.rule === rule);
export const evaluated = (r: HealthReport, rule: RuleId) => r.checks.find((c) => c.rule === rule)!.evaluated;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A doctor on its own connection and member clients, so the test's writes cannot trip its circuit breakers. */
export function doctorFor(cluster: EtcdCluster, options: HealthDoctorOptions = {}) {
  const conn = new EtcdConnection(
    { id: 'h', name: 'h', endpoints: cluster.endpoints, timeoutMs: 1500, retries: 0 },
    {},
    silentLogger,
  );
  const clients = new MemberClients(conn);
  const doctor = new HealthDoctor(conn, clients, options);
  return {
    doctor,
    dispose: async () => {
      await clients.dispose();
      await conn.close();
    },
  };
}

/** Checks until `done(report)`; returns that report (fails the test naming `what`). */
export async function checkUntil(
  doctor: HealthDoctor,
  done: (r: HealthReport) => boolean,
  what: string,
  ms = 20_000,
  before?: () => Promise<unknown>,
  options?: CheckOptions,
): Promise<HealthReport> {
  let last: HealthReport | undefined;
  await until(
    async () => {
      await before?.();
      last = await doctor.check(undefined, options);
      if (process.env.HEALTH_DEBUG) console.log(what, last.durationMs, last.findings.map((f) => f.rule).join(','));
      return done(last);
    },
    ms,
    what,
  );
  return last!;
}
