/* SPDX-License-Identifier: MIT */
/*
 * alertmanager.h - a leak alert as Prometheus Alertmanager takes it: the
 * body of a POST to /api/v2/alerts, made from the stored leakmon payload
 * (lib/alert.c) when a [webhook] says format = alertmanager.
 *
 * The body is an array of alerts. The alert itself:
 *   labels       alertname "LeakmonLeak", target, kind, type, severity
 *                (the payload's level: info, warning, critical), host
 *   annotations  summary (one sentence), rate, time_to_limit, holders (one
 *                chain a line), and pid, exe, alert_id, delivery_id,
 *                bytes_per_hour, eta_seconds as plain values
 *   startsAt     when the alert opened
 *   endsAt       firing: ends_us, a few resend periods ahead (Alertmanager
 *                resolves an alert whose endsAt has passed, so leakmond
 *                resends firing alerts, as Prometheus does); resolved: the
 *                time it resolved.
 * Labels are an alert's identity in Alertmanager, and severity is one of
 * them: a firing alert above info also carries its lower levels with endsAt
 * now, so an escalation ends the quieter alert instead of leaving it to
 * time out. Names in the payload are already escaped (lm_json_name).
 */
#ifndef LM_ALERTMANAGER_H
#define LM_ALERTMANAGER_H

#include <stdint.h>

#define LM_ALERTMANAGER_PATH "/api/v2/alerts"
#define LM_ALERTMANAGER_ALERTNAME "LeakmonLeak"

/*
 * The body (compact JSON text, free()) for payload (a leakmon payload as
 * stored), an alert opened at starts_us; resolved (event leak.resolved)
 * or firing until ends_us; now_us ends the lower levels. NULL when the
 * payload is not a leakmon payload or memory runs out.
 */
char *lm_alertmanager_body(const char *payload, int64_t starts_us, int64_t ends_us,
			   int64_t now_us);

#endif
