-- Every authentic report built under break-glass by the as-of time: who approved it,
-- why, for how long, and whether a later compliant, passing report without
-- break-glass followed in the same repository and environment.
SELECT
    b.repository,
    b.env,
    b.break_glass_incident AS incident,
    b.break_glass_approved_by AS approved_by,
    b.break_glass_reason AS reason,
    b.finished_at AS used_at,
    b.break_glass_expires AS expires,
    ROUND((epoch(b.break_glass_expires) - epoch(b.finished_at)) / 3600.0, 1) AS hours,
    EXISTS (
        SELECT 1
        FROM reports f
        WHERE f.repository = b.repository AND f.env = b.env
          AND f.finished_at > b.finished_at
          AND f.finished_at <= (SELECT as_of FROM ledger_params)
          AND f.authentic AND f.verdict = 'pass' AND f.compliant AND NOT f.break_glass_active
    ) AS fixed_after
FROM reports b
WHERE b.authentic AND b.break_glass_active AND b.finished_at <= (SELECT as_of FROM ledger_params)
ORDER BY b.finished_at, b.repository
