//! `beamlink eval NODE [EXPRS]`: Erlang expressions evaluated on the node, as
//! `erl_call -e` does; the value of the last one is printed.

use std::io::Read;

use beamlink::{EvalError, Node, Term};

use crate::args::{Common, EvalArgs};
use crate::exit::{self, Failure};

/// Runs the command: 0 with the value printed, 1 when the evaluation raised or the node
/// is unreachable, 2 when the expressions do not scan or parse.
pub fn run(args: EvalArgs, common: &Common) -> i32 {
    let exprs = match &args.exprs {
        Some(e) => e.clone(),
        None => {
            let mut s = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut s) {
                return Failure::usage(format!("cannot read the expressions from stdin: {e}")).report("eval");
            }
            s
        }
    };
    if exprs.trim().trim_end_matches('.').trim().is_empty() {
        return Failure::usage("no expressions: give them as an argument or on stdin").report("eval");
    }
    let runtime = match super::runtime("eval") {
        Ok(r) => r,
        Err(code) => return code,
    };
    let result = runtime.block_on(async {
        let node = super::open(common, &args.node).await?;
        match node.eval(&args.node, &exprs, common.timeout).await {
            Ok(v) => Ok(v),
            Err(EvalError::Scan(info)) | Err(EvalError::Parse(info)) => {
                let text = describe_syntax_error(&node, &args.node, &info, common).await;
                Err(Failure::usage(format!(
                    "the expressions are not valid Erlang: {text}"
                )))
            }
            Err(EvalError::Rpc(e)) => Err(Failure::failed(format!(
                "evaluation on {} failed: {e}",
                args.node
            ))),
        }
    });
    match result {
        Ok(v) => {
            super::print_value(&v, common.format, args.elixir);
            exit::OK
        }
        Err(f) => f.report("eval"),
    }
}

/// `line L: message` from `{error, {Loc, Module, Desc}, ...}`, asking the peer's
/// `Module:format_error/1` for the message; the raw term when that does not work.
async fn describe_syntax_error(node: &Node, peer: &str, info: &Term, common: &Common) -> String {
    let parts = info
        .as_tuple()
        .and_then(|t| t.get(1))
        .and_then(|i| i.as_tuple_n::<3>());
    let Some([loc, module, desc]) = parts else {
        return info.to_string();
    };
    let Some(module) = module.as_atom() else {
        return info.to_string();
    };
    let line = match loc.as_tuple_n::<2>() {
        Some([l, c]) => format!("line {l}, column {c}"),
        None => format!("line {loc}"),
    };
    match node
        .rpc(
            peer,
            module.as_str(),
            "format_error",
            vec![desc.clone()],
            common.timeout,
        )
        .await
    {
        Ok(text) => match flatten_chars(&text) {
            Some(s) => format!("{line}: {s}"),
            None => format!("{line}: {desc}"),
        },
        Err(_) => format!("{line}: {desc}"),
    }
}

/// A deep list of characters and binaries (an Erlang chardata) as a string.
fn flatten_chars(t: &Term) -> Option<String> {
    let mut out = String::new();
    let mut stack = vec![t];
    while let Some(t) = stack.pop() {
        match t {
            Term::Int(c) => out.push(u32::try_from(*c).ok().and_then(char::from_u32)?),
            Term::Binary(b) => out.push_str(std::str::from_utf8(b).ok()?),
            Term::List(items) => stack.extend(items.iter().rev()),
            _ => return None,
        }
        if out.len() > 4096 {
            break;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_chardata() {
        let t = beamlink_term::text::parse("[\"syntax error before: \", [<<\"'.'\">>]]").unwrap();
        assert_eq!(flatten_chars(&t).unwrap(), "syntax error before: '.'");
        assert!(flatten_chars(&Term::atom("x")).is_none());
    }
}
