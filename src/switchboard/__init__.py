def hello() -> str:
    return "Hello from switchboard!"
