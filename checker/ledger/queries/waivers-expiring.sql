-- Waivers in force in each repository's last authentic report (by the as-of time) that
-- expire within the next --days days, with who approved them and the ticket.
WITH latest AS (
    SELECT
        r.digest,
        r.repository,
        r.env,
        ROW_NUMBER() OVER (PARTITION BY r.repository, r.env ORDER BY r.finished_at DESC, r.digest) AS rn
    FROM reports r
    WHERE r.authentic AND r.finished_at <= (SELECT as_of FROM ledger_params)
)
SELECT
    l.repository,
    l.env,
    w.rule,
    w.waiver_id,
    w.expires,
    w.approved_by,
    w.ticket,
    w.reason
FROM latest l
JOIN report_waivers w ON w.digest = l.digest
WHERE l.rn = 1
  AND w.state = 'applied'
  AND w.expires >= (SELECT as_of FROM ledger_params)
  AND w.expires <= (SELECT horizon FROM ledger_params)
ORDER BY w.expires, l.repository, w.rule
