-- Links and API keys. Codes compare byte-wise (COLLATE "C"): "abc" and "ABC" are different links.
CREATE TABLE api_keys (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_hash    bytea NOT NULL UNIQUE,
    prefix      text NOT NULL,
    name        text NOT NULL,
    owner       text NOT NULL,
    is_admin    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE links (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code             text COLLATE "C" NOT NULL,
    target           text NOT NULL CHECK (length(target) <= 2048),
    owner            text,
    is_custom_alias  boolean NOT NULL DEFAULT false,
    password_hash    text,
    expires_at       timestamptz,
    redirect_type    smallint NOT NULL DEFAULT 302 CHECK (redirect_type IN (301, 302, 307, 308)),
    is_active        boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- Deleted links keep their code forever: a freed code could be re-registered
    -- and silently hijack every place the old short link was published.
    deleted_at       timestamptz,
    CONSTRAINT links_code_key UNIQUE (code)
);

-- "My links", newest first, keyset-paginated on (created_at, code).
CREATE INDEX links_owner_created_idx ON links (owner, created_at DESC, code DESC)
    WHERE deleted_at IS NULL;
-- Expiry sweeps.
CREATE INDEX links_expires_at_idx ON links (expires_at)
    WHERE expires_at IS NOT NULL AND deleted_at IS NULL;
