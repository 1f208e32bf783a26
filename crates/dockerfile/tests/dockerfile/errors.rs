//! Error texts, in full, with file, line and column.

use std::collections::HashMap;

use berth_dockerfile::{IgnoreMatcher, parse};

use crate::{df, err};

#[test]
fn unknown_instruction_with_hint() {
    let src = "FROM alpine\n\n\n\n\n\n\n\n\n\n\n    RUNN echo hi\n";
    assert_eq!(
        err(src),
        "Dockerfile:12:5: unknown instruction \"RUNN\"\nhint: did you mean RUN?"
    );
}

#[test]
fn unknown_instruction_without_hint() {
    assert_eq!(
        err("FROM alpine\nFOOBAR x\n"),
        "Dockerfile:2:1: unknown instruction \"FOOBAR\""
    );
    assert_eq!(
        err("FROM alpine\nENTRYPONT [\"x\"]\n"),
        "Dockerfile:2:1: unknown instruction \"ENTRYPONT\"\nhint: did you mean ENTRYPOINT?"
    );
}

#[test]
fn file_name_is_used() {
    let e = parse("FROM a\nCPY x y\n", "docker/app.Dockerfile").unwrap_err();
    assert_eq!(
        e.to_string(),
        "docker/app.Dockerfile:2:1: unknown instruction \"CPY\"\nhint: did you mean COPY?"
    );
}

#[test]
fn unterminated_heredoc() {
    assert_eq!(
        err("FROM alpine\nRUN cat <<EOF\nline\n"),
        "Dockerfile:2:9: unterminated here-document: no line \"EOF\" before the end of the file\nhint: end the here-document with a line holding only EOF"
    );
}

#[test]
fn shell_needs_json() {
    assert_eq!(
        err("FROM alpine\nSHELL /bin/bash -c\n"),
        "Dockerfile:2:7: SHELL: expected a JSON array of strings, like [\"/bin/sh\", \"-c\"]: found shell form"
    );
    assert_eq!(
        err("FROM alpine\nSHELL [\"/bin/bash\", -c]\n"),
        "Dockerfile:2:7: SHELL: expected a JSON array of strings, like [\"/bin/sh\", \"-c\"]: invalid number at line 1 column 16"
    );
    assert_eq!(
        err("FROM alpine\nSHELL []\n"),
        "Dockerfile:2:7: SHELL: expected a JSON array of strings, like [\"/bin/sh\", \"-c\"]: the array is empty"
    );
}

#[test]
fn missing_from() {
    assert_eq!(
        err("# comment\nARG X=1\nRUN echo\nFROM alpine\n"),
        "Dockerfile:3:1: RUN before the first FROM\nhint: a Dockerfile must start with FROM; only ARG and comments may come before it"
    );
}

#[test]
fn copy_from_index_out_of_range() {
    assert_eq!(
        err("FROM golang AS build\nFROM alpine\nCOPY --from=2 /app /app\n"),
        "Dockerfile:3:1: unknown stage \"2\": index 2 is out of range: the Dockerfile has 2 stages (0 to 1)"
    );
    assert_eq!(
        err("FROM alpine\nRUN --mount=from=7,target=/x true\n"),
        "Dockerfile:2:1: unknown stage \"7\": index 7 is out of range: the Dockerfile has 1 stage (0 to 0)"
    );
}

#[test]
fn empty_continuation_at_end_of_file() {
    assert_eq!(
        err("FROM alpine\nRUN \\"),
        "Dockerfile:2:1: RUN ends with a line continuation at the end of the file\nhint: remove the trailing \\ or write the instruction's arguments"
    );
    assert_eq!(
        err("# escape=`\nFROM alpine\nRUN `\n\n"),
        "Dockerfile:3:1: RUN ends with a line continuation at the end of the file\nhint: remove the trailing ` or write the instruction's arguments"
    );
}

#[test]
fn unknown_flag_with_suggestion() {
    assert_eq!(
        err("FROM alpine\nCOPY --form=build a b\n"),
        "Dockerfile:2:6: unknown flag --form for COPY\nhint: did you mean --from?"
    );
    assert_eq!(
        err("FROM alpine\nENV --foo=bar A=1\n"),
        "Dockerfile:2:5: unknown flag --foo for ENV"
    );
    assert_eq!(
        err("FROM alpine\nADD --from=x a b\n"),
        "Dockerfile:2:5: unknown flag --from for ADD"
    );
}

#[test]
fn flag_on_a_continuation_line_is_located_there() {
    assert_eq!(
        err("FROM alpine\nRUN --mount=type=cache,target=/a \\\n    --network=bridge true\n"),
        "Dockerfile:3:5: bad value for --network: \"bridge\": expected default, none or host"
    );
}

#[test]
fn bad_flag_values() {
    assert_eq!(
        err("FROM alpine\nCOPY --link=maybe a b\n"),
        "Dockerfile:2:6: bad value for --link: \"maybe\": expected true or false"
    );
    assert_eq!(
        err("FROM alpine\nRUN --mount=type=volume,target=/x true\n"),
        "Dockerfile:2:5: bad value for --mount: \"type=volume,target=/x\": expected type=bind, type=cache, type=tmpfs, type=secret or type=ssh"
    );
    assert_eq!(
        err("FROM alpine\nRUN --mount=type=cache,target=/x,colour=red true\n"),
        "Dockerfile:2:5: bad value for --mount: \"type=cache,target=/x,colour=red\": expected one of the keys type, target (dst, destination), source (src), from, id, sharing, mode, uid, gid, required, readonly (ro), rw (readwrite), size, env, not \"colour\""
    );
    assert_eq!(
        err("FROM alpine\nRUN --mount=type=cache,id=x true\n"),
        "Dockerfile:2:5: bad value for --mount: \"type=cache,id=x\": expected a target=<path> for this mount type"
    );
    assert_eq!(
        err("FROM alpine\nCOPY --chown a b\n"),
        "Dockerfile:2:6: bad value for --chown: \"\": expected a value, like --chown=<value>"
    );
}

#[test]
fn bad_durations_and_retries() {
    assert_eq!(
        err("FROM alpine\nHEALTHCHECK --interval=5 CMD true\n"),
        "Dockerfile:2:13: bad duration for --interval: \"5\": expected a number with a unit, like 30s, 1m30s or 500ms"
    );
    assert_eq!(
        err("FROM alpine\nHEALTHCHECK --timeout=-3s CMD true\n"),
        "Dockerfile:2:13: bad duration for --timeout: \"-3s\": expected a number with a unit, like 30s, 1m30s or 500ms"
    );
    assert_eq!(
        err("FROM alpine\nHEALTHCHECK --start-period=10us CMD true\n"),
        "Dockerfile:2:13: bad value for --start-period: \"10us\": expected 0 or at least 1ms"
    );
    assert_eq!(
        err("FROM alpine\nHEALTHCHECK --retries=-1 CMD true\n"),
        "Dockerfile:2:13: bad value for --retries: \"-1\": expected a whole number, 0 or more"
    );
}

#[test]
fn healthcheck_shape() {
    assert_eq!(
        err("FROM alpine\nHEALTHCHECK curl -f localhost\n"),
        "Dockerfile:2:13: HEALTHCHECK: expected CMD or NONE, found \"curl\""
    );
    assert_eq!(
        err("FROM alpine\nHEALTHCHECK --retries=3 NONE\n"),
        "Dockerfile:2:25: HEALTHCHECK: HEALTHCHECK NONE takes no options or arguments"
    );
}

#[test]
fn from_shape() {
    assert_eq!(
        err("FROM alpine AS\n"),
        "Dockerfile:1:13: FROM: expected FROM [--platform=<platform>] <image> [AS <name>], found \"AS\""
    );
    assert_eq!(
        err("FROM alpine THEN base\n"),
        "Dockerfile:1:13: FROM: expected FROM [--platform=<platform>] <image> [AS <name>], found \"THEN\""
    );
    assert_eq!(
        err("FROM alpine AS 1st\n"),
        "Dockerfile:1:16: FROM: invalid stage name \"1st\": it must start with a letter and hold only letters, digits, '-', '_' and '.'"
    );
    assert_eq!(
        err("FROM --platform\n"),
        "Dockerfile:1:6: bad value for --platform: \"\": expected a value, like --platform=<value>"
    );
}

#[test]
fn duplicate_stage_name() {
    assert_eq!(
        err("FROM alpine AS base\nRUN true\nFROM debian as BASE\n"),
        "Dockerfile:3:1: duplicate stage name \"base\": already used by the stage on line 1"
    );
}

#[test]
fn onbuild_restrictions() {
    assert_eq!(
        err("FROM alpine\nONBUILD FROM x\n"),
        "Dockerfile:2:9: ONBUILD: ONBUILD FROM is not allowed"
    );
    assert_eq!(
        err("FROM alpine\nONBUILD ONBUILD RUN x\n"),
        "Dockerfile:2:9: ONBUILD: ONBUILD ONBUILD is not allowed"
    );
    assert_eq!(
        err("FROM alpine\nONBUILD MAINTAINER me\n"),
        "Dockerfile:2:9: ONBUILD: ONBUILD MAINTAINER is not allowed"
    );
    assert_eq!(
        err("FROM alpine\nONBUILD RUNN x\n"),
        "Dockerfile:2:9: unknown instruction \"RUNN\"\nhint: did you mean RUN?"
    );
}

#[test]
fn directive_errors() {
    assert_eq!(
        err("# escape=x\nFROM alpine\n"),
        "Dockerfile:1:1: bad parser directive: invalid escape character \"x\": expected \\ or `"
    );
    assert_eq!(
        err("# escape=`\n# Escape=\\\nFROM alpine\n"),
        "Dockerfile:2:1: bad parser directive: only one escape directive can be used"
    );
}

#[test]
fn argument_errors() {
    assert_eq!(
        err("FROM alpine\nENV FOO\n"),
        "Dockerfile:2:5: ENV: ENV FOO has no value: expected ENV <key>=<value> … or ENV <key> <value>"
    );
    assert_eq!(
        err("FROM alpine\nENV A=1 B\n"),
        "Dockerfile:2:9: ENV: can't find = in \"B\": expected <key>=<value>"
    );
    assert_eq!(
        err("FROM alpine\nLABEL =x\n"),
        "Dockerfile:2:7: LABEL: LABEL names can not be blank"
    );
    assert_eq!(
        err("FROM alpine\nARG =x\n"),
        "Dockerfile:2:5: ARG: ARG names can not be blank"
    );
    assert_eq!(
        err("FROM alpine\nCOPY  onlyone\n"),
        "Dockerfile:2:7: COPY: COPY requires at least two arguments (sources and a destination), but only one was given"
    );
    assert_eq!(
        err("FROM alpine\nRUN\n"),
        "Dockerfile:2:4: RUN: RUN requires at least one argument"
    );
    assert_eq!(
        err("FROM alpine\nWORKDIR   \n"),
        "Dockerfile:2:8: WORKDIR: WORKDIR requires at least one argument"
    );
    assert_eq!(
        err("FROM alpine\nEXPOSE 80 8o/tcp\n"),
        "Dockerfile:2:11: EXPOSE: invalid port \"8o\" in \"8o/tcp\": expected a number 0-65535"
    );
    assert_eq!(
        err("FROM alpine\nSTOPSIGNAL SIGTERM now\n"),
        "Dockerfile:2:20: STOPSIGNAL: expected one signal, like SIGTERM or 15, found also \"now\""
    );
    assert_eq!(
        err("FROM alpine\nVOLUME [\"\"]\n"),
        "Dockerfile:2:8: VOLUME: a volume path can not be empty"
    );
    assert_eq!(
        err("FROM alpine\nCOPY --from=a --from=b x y\n"),
        "Dockerfile:2:15: COPY: flag --from given more than once"
    );
}

#[test]
fn expansion_errors_carry_the_instruction_location() {
    let d = df("FROM alpine\n  WORKDIR ${DIR:?must be set}\nUSER \"app\nLABEL a=${b\n");
    let env: HashMap<String, String> = HashMap::new();
    let i = &d.stages[0].instructions;
    assert_eq!(
        i[0].expand(&env).unwrap_err().to_string(),
        "Dockerfile:2:3: failed to expand \"${DIR:?must be set}\": DIR: must be set"
    );
    assert_eq!(
        i[1].expand(&env).unwrap_err().to_string(),
        "Dockerfile:3:1: failed to expand \"\\\"app\": unexpected end of text while looking for matching double quote"
    );
    assert_eq!(
        i[2].expand(&env).unwrap_err().to_string(),
        "Dockerfile:4:1: failed to expand \"${b\": missing '}' after ${b"
    );
}

#[test]
fn ignore_file_errors() {
    let e = IgnoreMatcher::parse("node_modules\n# c\n[a-\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        ".dockerignore:3: bad .dockerignore pattern \"[a-\": unterminated character class"
    );
    let e = IgnoreMatcher::parse_named("!\n", "app.Dockerfile.dockerignore").unwrap_err();
    assert_eq!(
        e.to_string(),
        "app.Dockerfile.dockerignore:1: bad .dockerignore pattern \"!\": an exception needs a pattern after !"
    );
    let e = IgnoreMatcher::parse("[]x\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        ".dockerignore:1: bad .dockerignore pattern \"[]x\": empty character class"
    );
}

#[test]
fn json_arrays_must_hold_strings() {
    assert_eq!(
        err("FROM alpine\nCMD [\"sleep\", 10]\n"),
        "Dockerfile:2:5: CMD: expected a JSON array of strings, like [\"/bin/sh\", \"-c\"]: when using the JSON form, every element must be a string"
    );
    assert_eq!(
        err("FROM alpine\nCOPY   [\"a\", null, \"/b\"]\n"),
        "Dockerfile:2:8: COPY: expected a JSON array of strings, like [\"/bin/sh\", \"-c\"]: when using the JSON form, every element must be a string"
    );
    assert_eq!(
        err("FROM alpine\nSHELL [\"sh\", [\"-c\"]]\n"),
        "Dockerfile:2:7: SHELL: expected a JSON array of strings, like [\"/bin/sh\", \"-c\"]: when using the JSON form, every element must be a string"
    );
}
