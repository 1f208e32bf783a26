//! Bad input: each error's exact text.

use crate::common::{error, try_project};

#[test]
fn yaml_syntax_error_has_line_and_column() {
    let text = error("services:\n  web:\n    image: nginx\n   ports: [\"80\"]\n");
    assert_eq!(
        text,
        "compose.yaml:4:4: did not find expected key, while parsing a block mapping at line 2 column 3"
    );
    let text = error("services:\n  web:\n    image: \"unterminated\n");
    assert_eq!(
        text,
        "compose.yaml:4:1: found unexpected end of stream, while scanning a quoted scalar at line 3 column 12"
    );
    let text = error("services:\n\tweb:\n    image: x\n");
    assert_eq!(
        text,
        "compose.yaml:2:1: found character that cannot start any token, while scanning for the next token"
    );
}

#[test]
fn unknown_service_in_depends_on() {
    let text = error(
        "services:\n  web:\n    image: nginx\n    depends_on: [redis]\n  db:\n    image: postgres\n",
    );
    assert_eq!(
        text,
        "compose.yaml: services.web.depends_on: unknown service \"redis\"\nhint: defined services: db, web"
    );
}

#[test]
fn optional_missing_dependency_is_allowed() {
    let p = try_project(
        "services:\n  web:\n    image: nginx\n    depends_on:\n      redis:\n        condition: service_started\n        required: false\n",
        &[],
    )
    .unwrap();
    assert!(!p.model.services["web"].depends_on["redis"].required);
}

#[test]
fn dependency_cycle_is_named() {
    let text = error(
        "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c]\n  c:\n    image: x\n    depends_on:\n      a:\n        condition: service_healthy\n  d:\n    image: x\n    depends_on: [a]\n",
    );
    assert_eq!(
        text,
        "compose.yaml: services.a.depends_on: dependency cycle: a -> b -> c -> a"
    );
    let text = error("services:\n  self:\n    image: x\n    depends_on: [self]\n");
    assert_eq!(
        text,
        "compose.yaml: services.self.depends_on: dependency cycle: self -> self"
    );
}

#[test]
fn missing_required_variable() {
    let yaml = "services:\n  db:\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD:?DB_PASSWORD must be set}\n";
    let text = try_project(yaml, &[]).unwrap_err().to_string();
    assert_eq!(
        text,
        "compose.yaml: services.db.environment.POSTGRES_PASSWORD: required variable DB_PASSWORD is missing a value: DB_PASSWORD must be set\nhint: set DB_PASSWORD in the environment or in the .env file"
    );
    let text = try_project("services:\n  db:\n    image: pg:${TAG?}\n", &[])
        .unwrap_err()
        .to_string();
    assert_eq!(
        text,
        "compose.yaml: services.db.image: required variable TAG is missing a value\nhint: set TAG in the environment or in the .env file"
    );
    // Set (even empty, for `?`) is enough.
    assert!(try_project("services:\n  db:\n    image: pg${TAG?}\n", &[("TAG", "")]).is_ok());
}

#[test]
fn invalid_values_name_file_service_and_key() {
    let cases = [
        (
            "services:\n  web:\n    image: x\n    ports:\n      - \"8080:80\"\n      - \"80:80:80:80\"\n",
            "compose.yaml: services.web.ports[1]: \"80:80:80:80\" is not a port mapping",
        ),
        (
            "services:\n  web:\n    image: x\n    ports:\n      - target: http\n",
            "compose.yaml: services.web.ports[0].target: \"http\" is not a port number",
        ),
        (
            "services:\n  web:\n    image: x\n    volumes: [\"data:relative\"]\n",
            "compose.yaml: services.web.volumes[0]: \"data:relative\": the container path \"relative\" is not absolute",
        ),
        (
            "services:\n  web:\n    image: x\n    restart: sometimes\n",
            "compose.yaml: services.web.restart: \"sometimes\" is not a restart policy (no, always, on-failure[:N], unless-stopped)",
        ),
        (
            "services:\n  web:\n    image: x\n    healthcheck:\n      interval: soon\n",
            "compose.yaml: services.web.healthcheck.interval: \"soon\" is not a duration (like 1m30s)",
        ),
        (
            "services:\n  web:\n    image: x\n    healthcheck:\n      test: [curl, localhost]\n",
            "compose.yaml: services.web.healthcheck.test: test must start with CMD, CMD-SHELL or NONE, not \"curl\"",
        ),
        (
            "services:\n  web:\n    image: x\n    deploy:\n      resources:\n        limits:\n          memory: lots\n",
            "compose.yaml: services.web.deploy.resources.limits.memory: \"lots\" is not a byte size (like 512M)",
        ),
        (
            "services:\n  web:\n    image: x\n    depends_on:\n      db:\n        condition: service_ready\n  db:\n    image: y\n",
            "compose.yaml: services.web.depends_on.db.condition: unknown variant `service_ready`, expected one of `service_started`, `service_healthy`, `service_completed_successfully`",
        ),
        (
            "services:\n  web:\n    image: x\n    tty: maybe\n",
            "compose.yaml: services.web.tty: \"maybe\" is not a boolean",
        ),
        (
            "services:\n  web:\n    image: x\n    scale: many\n",
            "compose.yaml: services.web.scale: \"many\" is not a number",
        ),
        (
            "services:\n  web:\n    image: x\n    command: \"echo 'unterminated\"\n",
            "compose.yaml: services.web.command: \"echo 'unterminated\" has an unterminated quote",
        ),
        (
            "services:\n  web:\n    image: x\n    entrypoint: echo $1\n",
            "compose.yaml: services.web.entrypoint: invalid interpolation format in \"echo $1\"\nhint: write a literal $ as $$",
        ),
    ];
    for (yaml, want) in cases {
        assert_eq!(error(yaml), want, "for:\n{yaml}");
    }
}

#[test]
fn reference_errors() {
    let cases = [
        (
            "services:\n  web:\n    environment: [A=1]\n",
            "compose.yaml: services.web: neither image nor build is set\nhint: add `image:` or `build:` to the service",
        ),
        (
            "services:\n  web:\n    image: x\n    networks: [front]\n",
            "compose.yaml: services.web.networks: unknown network \"front\"\nhint: declare it under the top-level `networks:` key",
        ),
        (
            "services:\n  web:\n    image: x\n    volumes: [\"data:/data\"]\n",
            "compose.yaml: services.web.volumes[0]: unknown volume \"data\"\nhint: declare it under the top-level `volumes:` key",
        ),
        (
            "services:\n  a:\n    image: x\n    container_name: same\n  b:\n    image: x\n    container_name: same\n",
            "compose.yaml: services.b.container_name: \"same\" is already the container name of service \"a\"",
        ),
        (
            "services:\n  a:\n    image: x\n    container_name: one\n    scale: 2\n",
            "compose.yaml: services.a.container_name: a service with a fixed container name cannot have 2 replicas\nhint: remove container_name or scale to 1",
        ),
        (
            "services:\n  a:\n    image: x\n    scale: 2\n    deploy:\n      replicas: 3\n",
            "compose.yaml: services.a.scale: scale 2 and deploy.replicas 3 disagree\nhint: set only one of them",
        ),
        (
            "name: My_App\nservices:\n  a:\n    image: x\n",
            "invalid project name \"My_App\" (from name: in compose.yaml)\nhint: use lowercase letters, digits, dashes and underscores, starting with a letter or digit",
        ),
    ];
    for (yaml, want) in cases {
        assert_eq!(error(yaml), want, "for:\n{yaml}");
    }
}
