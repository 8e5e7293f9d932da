-- wrk script of bench/http-service.mjs: POST the JSON body in the file named by BENCH_BODY.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "application/json"
f:close()
