//! Stage resolution: names, indexes, `--from`, and what a `--target` needs.

use std::collections::HashMap;

use berth_dockerfile::StageRef;

use crate::df;

const MULTI: &str = "\
ARG GO=1.22
FROM golang:${GO} AS deps
RUN go mod download

FROM deps AS build
COPY --from=tools /bin/lint /usr/bin/
RUN go build -o /out/app

FROM alpine AS tools
RUN apk add lint

FROM build AS test
RUN go test ./...

FROM scratch AS final
COPY --from=build /out/app /app
COPY --from=docker.io/library/busybox:1.36 /bin/busybox /busybox

FROM final AS debug
RUN --mount=type=bind,from=tools,target=/t true
";

fn no_args() -> HashMap<String, String> {
    HashMap::new()
}

#[test]
fn stage_lookup_by_name_and_index() {
    let d = df(MULTI);
    assert_eq!(d.stages.len(), 6);
    assert_eq!(d.stage_index("BUILD"), Some(1));
    assert_eq!(d.stage_index("3"), Some(3));
    assert_eq!(d.stage_index("9"), None);
    assert_eq!(d.stage_index("nope"), None);
    assert_eq!(d.stage("tools").map(|s| s.base.as_str()), Some("alpine"));
    assert_eq!(d.stages[4].index, 4);
}

#[test]
fn classify_copy_from() {
    let d = df(MULTI);
    assert_eq!(d.classify_from("build").unwrap(), StageRef::Stage(1));
    assert_eq!(d.classify_from("Build").unwrap(), StageRef::Stage(1));
    assert_eq!(d.classify_from("0").unwrap(), StageRef::Stage(0));
    assert_eq!(
        d.classify_from("nginx:1.25").unwrap(),
        StageRef::Image("nginx:1.25".into())
    );
    assert_eq!(
        d.classify_from("6").unwrap_err().to_string(),
        "unknown stage \"6\": index 6 is out of range: the Dockerfile has 6 stages (0 to 5)"
    );
}

#[test]
fn base_expansion_uses_global_args() {
    let d = df(MULTI);
    let env = d.global_env(&no_args()).unwrap();
    assert_eq!(env, vec![("GO".to_string(), "1.22".to_string())]);
    assert_eq!(
        d.base_of(0, &env).unwrap(),
        StageRef::Image("golang:1.22".into())
    );
    let args = HashMap::from([("GO".to_string(), "1.21".to_string())]);
    let env = d.global_env(&args).unwrap();
    assert_eq!(
        d.base_of(0, &env).unwrap(),
        StageRef::Image("golang:1.21".into())
    );
    assert_eq!(d.base_of(1, &env).unwrap(), StageRef::Stage(0));
    assert_eq!(
        d.base_of(4, &env).unwrap(),
        StageRef::Image("scratch".into())
    );
}

#[test]
fn target_needs_only_its_dependencies() {
    let d = df(MULTI);
    assert_eq!(
        d.stages_for_target(Some("build"), &no_args()).unwrap(),
        vec![0, 2, 1]
    );
    assert_eq!(
        d.stages_for_target(Some("test"), &no_args()).unwrap(),
        vec![0, 2, 1, 3]
    );
    assert_eq!(
        d.stages_for_target(Some("tools"), &no_args()).unwrap(),
        vec![2]
    );
    assert_eq!(
        d.stages_for_target(Some("final"), &no_args()).unwrap(),
        vec![0, 2, 1, 4]
    );
    // No target: the last stage. Dependencies come first, lowest index first.
    assert_eq!(
        d.stages_for_target(None, &no_args()).unwrap(),
        vec![2, 0, 1, 4, 5]
    );
    assert_eq!(d.stages_for_target(Some("2"), &no_args()).unwrap(), vec![2]);
}

#[test]
fn from_argument_is_expanded_in_the_stage_scope() {
    // A global ARG is visible in a stage only after `ARG name` there.
    let src = "ARG SRC=one\nFROM alpine AS one\nFROM alpine AS two\nFROM scratch\nARG SRC\nCOPY --from=${SRC} /a /a\n";
    let d = df(src);
    assert_eq!(d.stages_for_target(None, &no_args()).unwrap(), vec![0, 2]);
    let args = HashMap::from([("SRC".to_string(), "two".to_string())]);
    assert_eq!(d.stages_for_target(None, &args).unwrap(), vec![1, 2]);
    // ENV and stage ARG defaults count too.
    let d = df(
        "FROM alpine AS one\nFROM alpine AS two\nFROM scratch\nARG N=1\nENV S=${N}\nCOPY --from=$S /a /a\n",
    );
    assert_eq!(d.stages_for_target(None, &no_args()).unwrap(), vec![1, 2]);
}

#[test]
fn unknown_target() {
    let d = df(MULTI);
    assert_eq!(
        d.stages_for_target(Some("prod"), &no_args())
            .unwrap_err()
            .to_string(),
        "unknown stage \"prod\": the Dockerfile's stages are deps, build, tools, test, final, debug"
    );
    let d = df("FROM alpine\n");
    assert_eq!(
        d.stages_for_target(Some("x"), &no_args())
            .unwrap_err()
            .to_string(),
        "unknown stage \"x\": the Dockerfile names no stages"
    );
}

#[test]
fn cycles_are_reported() {
    let d = df(
        "FROM b AS a\nFROM alpine AS b\nCOPY --from=c / /\nFROM alpine AS c\nCOPY --from=a / /\n",
    );
    assert_eq!(
        d.stages_for_target(Some("a"), &no_args())
            .unwrap_err()
            .to_string(),
        "circular dependency between stages: a -> b -> c -> a"
    );
    let d = df("FROM alpine AS self\nCOPY --from=self /x /y\n");
    assert_eq!(
        d.stages_for_target(None, &no_args())
            .unwrap_err()
            .to_string(),
        "circular dependency between stages: self -> self"
    );
}

#[test]
fn unknown_stage_in_from_variable_is_located() {
    let args = HashMap::from([("IDX".to_string(), "5".to_string())]);
    // IDX is not declared in the stage: it expands to nothing.
    let d = df("FROM alpine\nFROM alpine\nCOPY --from=$IDX /a /a\n");
    assert_eq!(
        d.stages_for_target(None, &args).unwrap_err().to_string(),
        "Dockerfile:3:1: unknown stage \"\": the reference is empty (an unset variable?)"
    );
    let d = df("FROM alpine\nFROM alpine\nARG IDX\nCOPY --from=$IDX /a /a\n");
    assert_eq!(
        d.stages_for_target(None, &args).unwrap_err().to_string(),
        "Dockerfile:4:1: unknown stage \"5\": index 5 is out of range: the Dockerfile has 2 stages (0 to 1)"
    );
}
