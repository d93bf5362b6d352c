import type { Command } from "commander";
import type { Io } from "../context.js";
import { CliError, EXIT } from "../exit.js";

interface Spec {
  name: string;
  options: string[];
}

/** Every command with its long and short options, read from the live program (never a second list). */
export function commandSpecs(program: Command): Spec[] {
  return program.commands.map((c) => ({
    name: c.name(),
    options: c.options
      .flatMap((o) => [o.long, o.short].filter((x): x is string => x !== undefined))
      .concat("--help"),
  }));
}

function bashScript(program: Command): string {
  const specs = commandSpecs(program);
  const cases = specs.map((s) => `    ${s.name}) opts="${s.options.join(" ")}" ;;`).join("\n");
  return `# bash completion for qcow2-forensic — source it: source <(qcow2-forensic completion bash)
_qcow2_forensic() {
  local cur cmd opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${specs.map((s) => s.name).join(" ")} --help --version" -- "$cur") )
    return
  fi
  cmd="\${COMP_WORDS[1]}"
  case "$cmd" in
${cases}
    *) opts="" ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -o filenames -F _qcow2_forensic qcow2-forensic
`;
}

function zshScript(program: Command): string {
  const specs = commandSpecs(program);
  const commands = program.commands
    .map((c) => `    '${c.name()}:${c.description().replaceAll("'", "").replaceAll(":", " -")}'`)
    .join("\n");
  const cases = specs
    .map(
      (s) =>
        `    ${s.name}) _arguments '*:file:_files' ${s.options.map((o) => `'${o}'`).join(" ")} ;;`,
    )
    .join("\n");
  return `#compdef qcow2-forensic
# zsh completion for qcow2-forensic — put it on $fpath as _qcow2-forensic, or: source <(qcow2-forensic completion zsh)
_qcow2-forensic() {
  local -a commands
  commands=(
${commands}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case "\${words[2]}" in
${cases}
  esac
}
compdef _qcow2-forensic qcow2-forensic 2>/dev/null || true
`;
}

export function registerCompletion(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  program
    .command("completion")
    .description("print a shell completion script (bash or zsh)")
    .argument("<shell>", "bash or zsh")
    .addHelpText(
      "after",
      "\nExamples:\n  $ source <(qcow2-forensic completion bash)\n  $ qcow2-forensic completion zsh > ~/.zfunc/_qcow2-forensic",
    )
    .action((shell: string) => {
      if (shell === "bash") io.stdout.write(bashScript(program));
      else if (shell === "zsh") io.stdout.write(zshScript(program));
      else throw new CliError(`completion: '${shell}' is not bash or zsh`, EXIT.usage);
      setExit(EXIT.ok);
    });
}
