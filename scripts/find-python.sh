# Sourced by the scripts that make a tool virtualenv of their own (.venv-sam, .venv-checkov).
# find_python prints the first interpreter that actually runs: python3.12 (the functions' runtime), a pyenv 3.12, or
# python3 (a pyenv shim can exist and still fail).
find_python() {
    local candidate
    if python3.12 --version >/dev/null 2>&1; then
        command -v python3.12
        return
    fi
    if command -v pyenv >/dev/null 2>&1; then
        for candidate in "$(pyenv root)"/versions/3.12*/bin/python3.12; do
            if [[ -x "$candidate" ]] && "$candidate" --version >/dev/null 2>&1; then
                echo "$candidate"
                return
            fi
        done
    fi
    command -v python3
}
