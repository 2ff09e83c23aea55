/** The health doctor's public surface at its contract path; the doctor itself lives in ./health/. */
export { CheckOptions, HealthDoctor, HealthDoctorOptions, extractMetrics } from './health/doctor';
export { scanLargeValues } from './health/valueScan';
export * from './health/model';
export { alertText, clock, escapeMarkdown, findingHeading, renderHealthReport } from './health/report';
