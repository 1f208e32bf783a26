//! File-level syntax: directives, comments, continuations, here-documents, line
//! endings, locations.

use berth_dockerfile::{CommandForm, Heredoc, Instruction, Run};

use crate::{body, df, one, s};

fn run(i: &Instruction) -> &Run {
    match i {
        Instruction::Run(r) => r,
        other => panic!("not RUN: {other:?}"),
    }
}

#[test]
fn directives_all_three() {
    let d = df(
        "# syntax=docker/dockerfile:1.7\n# escape=`\n# check=skip=JSONArgsRecommended\nFROM alpine\n",
    );
    assert_eq!(
        d.directives.syntax.as_deref(),
        Some("docker/dockerfile:1.7")
    );
    assert_eq!(d.directives.escape, '`');
    assert_eq!(
        d.directives.check.as_deref(),
        Some("skip=JSONArgsRecommended")
    );
}

#[test]
fn directives_are_case_insensitive_and_spacing_is_free() {
    let d = df("#ESCAPE =  `\n#\t Syntax= docker/dockerfile:1  \nFROM alpine\n");
    assert_eq!(d.directives.escape, '`');
    assert_eq!(d.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
}

#[test]
fn directive_after_a_comment_is_a_comment() {
    let d = df("# a comment\n# escape=`\nFROM alpine\nRUN echo \\\n  hi\n");
    assert_eq!(d.directives.escape, '\\');
    assert_eq!(
        run(&d.stages[0].instructions[0].value).command,
        CommandForm::Shell("echo   hi".into())
    );
}

#[test]
fn directive_after_unknown_directive_is_a_comment() {
    let d = df("# unknowndirective=value\n# escape=`\nFROM alpine\n");
    assert_eq!(d.directives.escape, '\\');
}

#[test]
fn directive_after_blank_line_is_a_comment() {
    let d = df("\n# escape=`\nFROM alpine\n");
    assert_eq!(d.directives.escape, '\\');
}

#[test]
fn directive_after_instruction_is_a_comment() {
    let d = df("FROM alpine\n# escape=`\nRUN true\n");
    assert_eq!(d.directives.escape, '\\');
    assert_eq!(d.stages[0].instructions.len(), 1);
}

#[test]
fn windows_style_backtick_escape() {
    let src = "# escape=`\n\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nCOPY testfile.txt c:\\\nRUN dir c:\\ `\n    && echo done\nWORKDIR C:\\app\n";
    let d = df(src);
    let i = &d.stages[0].instructions;
    match &i[0].value {
        Instruction::Copy(c) => {
            assert_eq!(c.sources, s(&["testfile.txt"]));
            assert_eq!(c.dest, "c:\\");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        run(&i[1].value).command,
        CommandForm::Shell("dir c:\\     && echo done".into())
    );
    assert_eq!(i[1].at.line, 5);
    assert_eq!(i[1].end_line, 6);
    // With ` as escape the backslash is an ordinary character during expansion too.
    let env: Vec<(String, String)> = Vec::new();
    assert_eq!(
        i[2].expand(&env).unwrap(),
        Instruction::Workdir("C:\\app".into())
    );
}

#[test]
fn continuation_skips_comments_and_empty_lines() {
    let src = "FROM debian\nRUN apt-get update && \\\n    # the packages\n\n    apt-get install -y \\\n      curl \\\n  \t\n      git\n";
    let d = df(src);
    let r = &d.stages[0].instructions[0];
    assert_eq!(
        run(&r.value).command,
        CommandForm::Shell("apt-get update &&     apt-get install -y       curl       git".into())
    );
    assert_eq!(
        r.text,
        "RUN apt-get update &&     apt-get install -y       curl       git"
    );
    assert_eq!((r.at.line, r.end_line), (2, 8));
}

#[test]
fn continuation_allows_whitespace_after_escape() {
    let i = one("RUN echo a \\   \t\n  b\n");
    assert_eq!(run(&i).command, CommandForm::Shell("echo a   b".into()));
}

#[test]
fn continuation_in_exec_form() {
    let i = one("CMD [\"node\", \\\n     \"server.js\"]\n");
    assert_eq!(
        i,
        Instruction::Cmd(CommandForm::Exec(s(&["node", "server.js"])))
    );
}

#[test]
fn continuation_at_end_of_file_keeps_what_was_written() {
    // Docker accepts a dangling continuation when the instruction has arguments.
    let d = df("FROM alpine\nRUN echo hi \\");
    assert_eq!(
        run(&d.stages[0].instructions[0].value).command,
        CommandForm::Shell("echo hi".into())
    );
}

#[test]
fn instruction_names_are_case_insensitive() {
    let v = body("run echo 1\nRuN echo 2\nworkdir /x\nEnTrYpOiNt [\"sh\"]\n");
    assert_eq!(v.len(), 4);
    assert_eq!(v[0].name(), "RUN");
    assert_eq!(v[1].name(), "RUN");
    assert_eq!(v[2], Instruction::Workdir("/x".into()));
    assert_eq!(v[3], Instruction::Entrypoint(CommandForm::Exec(s(&["sh"]))));
}

#[test]
fn crlf_line_endings() {
    let d = df("FROM alpine\r\nRUN echo a \\\r\n  b\r\nENV A=1\r\n");
    let i = &d.stages[0].instructions;
    assert_eq!(
        run(&i[0].value).command,
        CommandForm::Shell("echo a   b".into())
    );
    match &i[1].value {
        Instruction::Env(kv) => assert_eq!(kv[0].value, "1"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn byte_order_mark_is_dropped() {
    let d = df("\u{feff}# escape=`\nFROM alpine\n");
    assert_eq!(d.directives.escape, '`');
    assert_eq!(d.stages[0].base, "alpine");
}

#[test]
fn leading_whitespace_and_tabs() {
    let d = df("  FROM   alpine:3.19   AS   base\n\t RUN\techo\t hi\n");
    assert_eq!(d.stages[0].name.as_deref(), Some("base"));
    assert_eq!(d.stages[0].from.at.column, 3);
    let r = &d.stages[0].instructions[0];
    assert_eq!(
        run(&r.value).command,
        CommandForm::Shell("echo\t hi".into())
    );
    assert_eq!((r.at.line, r.at.column), (2, 3));
}

#[test]
fn hash_inside_a_line_is_not_a_comment() {
    let i = one("RUN echo hello # world\n");
    assert_eq!(
        run(&i).command,
        CommandForm::Shell("echo hello # world".into())
    );
}

#[test]
fn indented_comment_lines_are_comments() {
    let v = body("   # indented comment\nRUN true\n\t# tab comment\n");
    assert_eq!(v.len(), 1);
}

#[test]
fn locations_and_text() {
    let d = df("# syntax=docker/dockerfile:1\n\nFROM alpine\n\n  RUN a \\\n   b\nUSER app\n");
    let r = &d.stages[0].instructions[0];
    assert_eq!(
        (r.at.file.as_str(), r.at.line, r.at.column, r.end_line),
        ("Dockerfile", 5, 3, 6)
    );
    assert_eq!(r.text, "RUN a    b");
    let u = &d.stages[0].instructions[1];
    assert_eq!(
        (u.at.line, u.at.column, u.text.as_str()),
        (7, 1, "USER app")
    );
    assert_eq!(d.stages[0].from.text, "FROM alpine");
}

#[test]
fn heredoc_run_script() {
    let d = df("FROM alpine\nRUN <<EOF\napk add curl\necho done\nEOF\nUSER app\n");
    let i = &d.stages[0].instructions;
    let r = run(&i[0].value);
    assert_eq!(r.command, CommandForm::Shell("<<EOF".into()));
    assert_eq!(
        r.heredocs,
        vec![Heredoc {
            name: "EOF".into(),
            content: "apk add curl\necho done\n".into(),
            expand: true,
            strip_tabs: false
        }]
    );
    assert_eq!((i[0].at.line, i[0].end_line), (2, 5));
    assert_eq!(i[1].value.name(), "USER");
}

#[test]
fn heredoc_dash_strips_tabs() {
    let r = one("RUN <<-END\n\tif true; then\n\t\techo yes\n\tfi\n\tEND\n");
    let h = &run(&r).heredocs[0];
    assert_eq!(h.content, "if true; then\necho yes\nfi\n");
    assert!(h.strip_tabs);
}

#[test]
fn heredoc_quoted_delimiter_disables_expansion() {
    let r = one("RUN <<'EOT' bash\necho $HOME\nEOT\n");
    let h = &run(&r).heredocs[0];
    assert_eq!((h.name.as_str(), h.expand), ("EOT", false));
    assert_eq!(h.content, "echo $HOME\n");
    let r = one("RUN <<\"EOT\"\necho $HOME\nEOT\n");
    assert!(!run(&r).heredocs[0].expand);
}

#[test]
fn heredoc_several_per_instruction() {
    let r = one(
        "RUN <<FILE1 cat > /file1 && <<FILE2 cat > /file2\nI am\nfirst\nFILE1\nI am\nsecond\nFILE2\n",
    );
    let h = &run(&r).heredocs;
    assert_eq!(h.len(), 2);
    assert_eq!(
        (h[0].name.as_str(), h[0].content.as_str()),
        ("FILE1", "I am\nfirst\n")
    );
    assert_eq!(
        (h[1].name.as_str(), h[1].content.as_str()),
        ("FILE2", "I am\nsecond\n")
    );
}

#[test]
fn heredoc_as_stdin_of_a_program() {
    let r = one("RUN python3 <<EOF\nprint('hi')\n\nprint('bye')\nEOF\n");
    let r = run(&r);
    assert_eq!(r.command, CommandForm::Shell("python3 <<EOF".into()));
    // Blank lines inside a here-document are kept.
    assert_eq!(r.heredocs[0].content, "print('hi')\n\nprint('bye')\n");
}

#[test]
fn heredoc_keeps_comment_lines_and_backslashes() {
    let r = one("RUN <<EOF\n# not a Dockerfile comment\necho a \\\nEOF\n");
    assert_eq!(
        run(&r).heredocs[0].content,
        "# not a Dockerfile comment\necho a \\\n"
    );
}

#[test]
fn heredoc_copy_to_destination() {
    let i = one("COPY <<EOF /etc/app.conf\nport=80\nEOF\n");
    match i {
        Instruction::Copy(c) => {
            assert_eq!(c.sources, s(&["<<EOF"]));
            assert_eq!(c.dest, "/etc/app.conf");
            assert_eq!(c.heredocs[0].content, "port=80\n");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn heredoc_after_continuation_and_with_mount() {
    let r = one(
        "RUN --mount=type=cache,target=/root/.cache \\\n    <<EOF\npip install -r req.txt\nEOF\n",
    );
    let r = run(&r);
    assert_eq!(r.mounts.len(), 1);
    assert_eq!(r.heredocs[0].content, "pip install -r req.txt\n");
}

#[test]
fn heredoc_not_in_quotes_or_cmd() {
    let r = one("RUN echo '<<EOF'\n");
    assert!(run(&r).heredocs.is_empty());
    let v = body("CMD cat <<EOF\nENV A=1\n");
    assert_eq!(v.len(), 2);
}

#[test]
fn empty_file_with_only_comments_has_no_stages() {
    assert_eq!(
        crate::err("# just a comment\n\n"),
        "Dockerfile: no FROM instruction found\nhint: a Dockerfile needs at least one FROM line, like FROM alpine:3.19"
    );
}

#[test]
fn lone_continuation_lines_join_or_vanish() {
    let d = df("FROM alpine\n\\\nRUN echo hi\n\\");
    let i = &d.stages[0].instructions;
    assert_eq!(i.len(), 1);
    assert_eq!(
        run(&i[0].value).command,
        CommandForm::Shell("echo hi".into())
    );
}
