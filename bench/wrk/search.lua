-- wrk script for GET /v1/search: each request takes a random line of a paths file written by
--   persona bench search --path ../shared/datasets/amazon-beauty --paths-out /tmp/search-paths.txt [--anonymous]
-- Run:  wrk -t2 -c64 -d20s --latency -s bench/wrk/search.lua http://127.0.0.1:5391 -- /tmp/search-paths.txt
-- Add a header line with an API key when the server needs one:  ... -- FILE KEY

local paths = {}

function init(args)
  local file = args[1] or "/tmp/search-paths.txt"
  for line in io.lines(file) do
    paths[#paths + 1] = line
  end
  if #paths == 0 then
    error("no request paths in " .. file)
  end
  if args[2] then
    wrk.headers["X-Api-Key"] = args[2]
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 1000)
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx or socket errors: %d\n",
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
