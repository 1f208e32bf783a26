-- berth store schema, version 1.
-- Times are nanoseconds since the Unix epoch; labels and options are JSON
-- objects (read with json_each for filters, so listing stays one query).

CREATE TABLE snapshots (
    chain_id   TEXT PRIMARY KEY,              -- sha256:<hex>
    parent     TEXT REFERENCES snapshots(chain_id),
    diff_id    TEXT NOT NULL,
    size       INTEGER NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'ready', 'missing')),
    created    INTEGER NOT NULL
);
CREATE INDEX snapshots_parent ON snapshots(parent);

CREATE TABLE images (
    id           TEXT PRIMARY KEY,            -- config digest
    parent       TEXT,                        -- builder's parent image, if any
    created      INTEGER NOT NULL,            -- from the image config
    added        INTEGER NOT NULL,            -- when it entered this store
    size         INTEGER NOT NULL,
    os           TEXT NOT NULL,
    architecture TEXT NOT NULL,
    variant      TEXT,
    config       TEXT NOT NULL,               -- the config JSON, verbatim
    labels       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX images_created ON images(created);
CREATE INDEX images_parent ON images(parent);

CREATE TABLE image_manifests (
    image_id   TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    digest     TEXT NOT NULL,
    media_type TEXT NOT NULL,
    PRIMARY KEY (image_id, digest)
);
CREATE INDEX image_manifests_digest ON image_manifests(digest);

CREATE TABLE tags (
    name     TEXT PRIMARY KEY,                -- docker.io/library/alpine:latest
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    created  INTEGER NOT NULL
);
CREATE INDEX tags_image ON tags(image_id);

CREATE TABLE image_layers (
    image_id    TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,             -- 0 = base layer
    diff_id     TEXT NOT NULL,
    chain_id    TEXT NOT NULL REFERENCES snapshots(chain_id),
    blob_digest TEXT,                         -- compressed blob, when known
    media_type  TEXT,
    size        INTEGER NOT NULL,
    PRIMARY KEY (image_id, position)
);
CREATE INDEX image_layers_chain ON image_layers(chain_id);

CREATE TABLE containers (
    id          TEXT PRIMARY KEY,             -- 64 lowercase hex
    name        TEXT NOT NULL UNIQUE,         -- without Docker's leading '/'
    image_id    TEXT,                         -- no FK: rmi -f may remove it
    image_ref   TEXT NOT NULL,                -- what the user asked for
    created     INTEGER NOT NULL,
    status      TEXT NOT NULL,                -- copy of state.status, for filters
    exit_code   INTEGER,                      -- copy of state.exit_code
    labels      TEXT NOT NULL DEFAULT '{}',
    config      TEXT NOT NULL,
    state       TEXT NOT NULL
);
CREATE INDEX containers_created ON containers(created);
CREATE INDEX containers_image ON containers(image_id);

CREATE TABLE container_layers (
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    chain_id     TEXT NOT NULL REFERENCES snapshots(chain_id),
    PRIMARY KEY (container_id, position)
);
CREATE INDEX container_layers_chain ON container_layers(chain_id);

CREATE TABLE volumes (
    name      TEXT PRIMARY KEY,
    driver    TEXT NOT NULL,
    labels    TEXT NOT NULL DEFAULT '{}',
    options   TEXT NOT NULL DEFAULT '{}',
    created   INTEGER NOT NULL,
    anonymous INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE container_volumes (
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    volume       TEXT NOT NULL REFERENCES volumes(name),
    PRIMARY KEY (container_id, volume)
);
CREATE INDEX container_volumes_volume ON container_volumes(volume);

CREATE TABLE networks (
    id       TEXT PRIMARY KEY,                -- 64 lowercase hex
    name     TEXT NOT NULL UNIQUE,
    driver   TEXT NOT NULL,
    subnet   TEXT,
    gateway  TEXT,
    internal INTEGER NOT NULL DEFAULT 0,
    labels   TEXT NOT NULL DEFAULT '{}',
    options  TEXT NOT NULL DEFAULT '{}',
    created  INTEGER NOT NULL
);
