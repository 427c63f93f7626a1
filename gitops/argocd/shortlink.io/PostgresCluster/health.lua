-- Argo CD health of a PostgresCluster, from the operator's status: Ready (a primary
-- takes writes), Replicated (every standby streams) and the HA loop's phase.
local hs = {status = "Progressing", message = "Waiting for the operator"}
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = obj.metadata.generation or 0
if (obj.status.observedGeneration or 0) < generation then
  hs.message = "Waiting for the operator to see generation " .. generation
  return hs
end
local conditions = {}
for _, condition in ipairs(obj.status.conditions) do
  conditions[condition.type] = condition
end
local phase = obj.status.phase or "Unknown"
local ready = conditions["Ready"]
local replicated = conditions["Replicated"]
if phase == "Initializing" or phase == "FailingOver" or phase == "SwitchingOver" then
  hs.message = phase .. ((ready and ready.message and (": " .. ready.message)) or "")
  return hs
end
if ready == nil or ready.status ~= "True" then
  hs.status = "Degraded"
  hs.message = (ready and ((ready.reason or "") .. ": " .. (ready.message or ""))) or "no Ready condition"
  return hs
end
if phase ~= "Healthy" or (replicated ~= nil and replicated.status ~= "True") then
  -- Writes are served, but a standby is missing or lagging: not what was declared.
  hs.status = "Degraded"
  hs.message = phase .. ": " .. ((replicated and replicated.message) or ready.message or "")
  return hs
end
hs.status = "Healthy"
hs.message = ready.message
return hs
