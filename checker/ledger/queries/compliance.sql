-- Per repository and environment: the last authentic report (signed by a
-- key trusted for that repository) by the as-of time, its verdict, whether it
-- is compliant (verified under all the organization's expectations), the
-- policy it was judged by and the relaxations in force. Reports that are not
-- authentic are the `unverified` question's.
WITH ranked AS (
    SELECT
        r.*,
        ROW_NUMBER() OVER (PARTITION BY r.repository, r.env ORDER BY r.finished_at DESC, r.digest) AS rn
    FROM reports r
    WHERE r.authentic AND r.finished_at <= (SELECT as_of FROM ledger_params)
)
SELECT
    repository,
    env,
    verdict,
    compliant,
    finished_at AS last_report_at,
    policy_name,
    policy_version,
    waivers_applied,
    break_glass_active,
    commit_sha
FROM ranked
WHERE rn = 1
ORDER BY repository, env
