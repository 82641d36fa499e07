-- Repositories (per environment) whose last authentic report by the as-of
-- time failed or is not compliant, and since when: the first report of the
-- current run of failures.
WITH ordered AS (
    SELECT
        r.repository,
        r.env,
        r.finished_at,
        r.verdict,
        (r.verdict = 'pass' AND r.compliant) AS good,
        ROW_NUMBER() OVER (PARTITION BY r.repository, r.env ORDER BY r.finished_at DESC, r.digest) AS rn
    FROM reports r
    WHERE r.authentic AND r.finished_at <= (SELECT as_of FROM ledger_params)
),
last_good AS (
    SELECT repository, env, MAX(finished_at) AS good_at FROM ordered WHERE good GROUP BY repository, env
),
latest AS (
    SELECT * FROM ordered WHERE rn = 1 AND NOT good
)
SELECT
    l.repository,
    l.env,
    l.verdict AS last_verdict,
    CASE WHEN l.verdict = 'pass' THEN 'not verified' ELSE 'verdict ' || coalesce(l.verdict, 'unknown') END AS why,
    l.finished_at AS last_report_at,
    (
        SELECT MIN(o.finished_at)
        FROM ordered o
        WHERE o.repository = l.repository AND o.env = l.env
          AND (g.good_at IS NULL OR o.finished_at > g.good_at)
    ) AS failing_since
FROM latest l
LEFT JOIN last_good g ON g.repository = l.repository AND g.env = l.env
ORDER BY failing_since, l.repository, l.env
