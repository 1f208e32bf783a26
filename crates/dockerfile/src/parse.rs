//! From source text to a [`Dockerfile`]: stages, global ARGs, located instructions.

use crate::error::{Error, Location, Result};
use crate::instructions::{self, Arg, Ctx, From, Instruction, Located};
use crate::lines::{self, Directives, LogicalLine};
use crate::suggest;

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The file name given to [`parse`] (used in error messages).
    pub file: String,
    /// Parser directives from the top of the file.
    pub directives: Directives,
    /// `ARG`s before the first `FROM`: usable in `FROM` lines, and in a stage after a
    /// bare `ARG name` there.
    pub global_args: Vec<Arg>,
    /// The stages, in file order.
    pub stages: Vec<Stage>,
}

/// One build stage: a `FROM` and the instructions up to the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The stage's position (0-based), usable as `COPY --from=<index>`.
    pub index: usize,
    /// The `AS` name, lower-cased.
    pub name: Option<String>,
    /// The base as written (not expanded): image, `scratch` or a stage name.
    pub base: String,
    /// `--platform` as written.
    pub platform: Option<String>,
    /// The `FROM` instruction itself.
    pub from: Located<From>,
    /// The instructions after `FROM`.
    pub instructions: Vec<Located<Instruction>>,
}

/// Parses a Dockerfile. `file` names it in errors (`Dockerfile:3:1: …`).
///
/// ```
/// let df = berth_dockerfile::parse("FROM alpine AS base\nRUN echo hi\n", "Dockerfile").unwrap();
/// assert_eq!(df.stages[0].name.as_deref(), Some("base"));
/// assert_eq!(df.stages[0].instructions[0].text, "RUN echo hi");
/// ```
pub fn parse(source: &str, file: impl AsRef<std::path::Path>) -> Result<Dockerfile> {
    let file = file.as_ref().display().to_string();
    let physical = lines::physical_lines(source);
    let (directives, start) = lines::directives(&file, &physical)?;
    let escape = directives.escape;
    let logical = lines::logical_lines(&file, &physical, start, escape)?;
    let mut df = Dockerfile {
        file: file.clone(),
        directives,
        global_args: Vec::new(),
        stages: Vec::new(),
    };
    for ll in &logical {
        // A lone continuation character joins nothing to nothing; BuildKit skips it.
        if ll.text.trim().is_empty() {
            continue;
        }
        let located = parse_line(&file, ll, escape)?;
        match located.value {
            Instruction::From(from) => {
                if let Some(name) = &from.name
                    && let Some(first) = df.stages.iter().find(|s| s.name.as_ref() == Some(name))
                {
                    return Err(Error::DuplicateStage {
                        at: located.at,
                        name: name.clone(),
                        first_line: first.from.at.line,
                    });
                }
                df.stages.push(Stage {
                    index: df.stages.len(),
                    name: from.name.clone(),
                    base: from.image.clone(),
                    platform: from.platform.clone(),
                    from: Located {
                        value: from,
                        at: located.at,
                        end_line: located.end_line,
                        text: located.text,
                        escape,
                    },
                    instructions: Vec::new(),
                });
            }
            value => match df.stages.last_mut() {
                Some(stage) => stage.instructions.push(Located { value, ..located }),
                None => match value {
                    Instruction::Arg(args) => df.global_args.extend(args),
                    other => {
                        return Err(Error::MissingFrom {
                            at: located.at,
                            instruction: other.name().to_string(),
                        });
                    }
                },
            },
        }
    }
    if df.stages.is_empty() {
        return Err(Error::NoStages { file });
    }
    check_stage_indexes(&df)?;
    Ok(df)
}

/// A numeric `COPY --from` / `RUN --mount from=` must name an existing stage; names
/// and references with variables are resolved by the builder.
fn check_stage_indexes(df: &Dockerfile) -> Result<()> {
    for inst in df.stages.iter().flat_map(|s| &s.instructions) {
        let froms: Vec<&str> = match &inst.value {
            Instruction::Copy(c) => c.from.iter().map(String::as_str).collect(),
            Instruction::Run(r) => r.mounts.iter().filter_map(|m| m.from.as_deref()).collect(),
            _ => Vec::new(),
        };
        for from in froms {
            if from.parse::<usize>().is_ok() {
                df.classify_from(from).map_err(|e| e.at(&inst.at))?;
            }
        }
    }
    Ok(())
}

fn parse_line(file: &str, ll: &LogicalLine, escape: char) -> Result<Located<Instruction>> {
    let text = &ll.text;
    let kw_len = text.find(char::is_whitespace).unwrap_or(text.len());
    let keyword = &text[..kw_len];
    let at = {
        let (line, column) = ll.position(0);
        Location {
            file: file.to_string(),
            line,
            column,
        }
    };
    let Some(name) = instructions::lookup(keyword) else {
        return Err(Error::UnknownInstruction {
            at,
            name: keyword.to_string(),
            suggestion: suggest::closest(keyword, &instructions::INSTRUCTIONS).map(str::to_string),
        });
    };
    if ll.dangling && text[kw_len..].trim().is_empty() {
        return Err(Error::ContinuationAtEof {
            at,
            instruction: name.to_string(),
            escape,
        });
    }
    let ctx = Ctx {
        file,
        line: ll,
        escape,
        name,
        args_at: kw_len,
    };
    let value = instructions::parse(&ctx)?;
    Ok(Located {
        value,
        at,
        end_line: ll.end_line,
        text: text.trim_end().to_string(),
        escape,
    })
}
