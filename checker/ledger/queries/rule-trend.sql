-- Findings of one rule (--rule) per week, over the authentic reports finished by the
-- as-of time: how many reports ran it, how many failed it, how many findings.
SELECT
    CAST(date_trunc('week', r.finished_at) AS DATE) AS week,
    COUNT(*) AS reports,
    SUM(CASE WHEN x.status = 'fail' THEN 1 ELSE 0 END) AS failed,
    SUM(x.findings) AS findings
FROM reports r
JOIN report_rules x ON x.digest = r.digest
WHERE r.authentic
  AND x.rule = (SELECT rule FROM ledger_params)
  AND r.finished_at <= (SELECT as_of FROM ledger_params)
GROUP BY CAST(date_trunc('week', r.finished_at) AS DATE)
ORDER BY week
