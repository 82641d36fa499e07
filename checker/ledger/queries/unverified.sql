-- What arrived that is not authentic, by the as-of time: reports not signed
-- by a key trusted for the repository they name (unsigned, a stranger's key,
-- malformed) and verification records no release key signed. None of them
-- counts in any other question; here is who claimed what, and why not.
SELECT
    'report' AS kind,
    r.ingested_at AS seen_at,
    r.repository AS claims_repository,
    r.verdict AS claims_verdict,
    r.reasons,
    r.source
FROM reports r
WHERE NOT r.authentic AND r.ingested_at <= (SELECT as_of FROM ledger_params)
UNION ALL
SELECT
    'verification' AS kind,
    v.verified_at AS seen_at,
    NULL AS claims_repository,
    v.verdict AS claims_verdict,
    v.reasons,
    NULL AS source
FROM verifications v
WHERE NOT v.authentic AND coalesce(v.verified_at, (SELECT as_of FROM ledger_params)) <= (SELECT as_of FROM ledger_params)
ORDER BY seen_at, kind, source
