-- Argo CD health of a ShortLink, from the conditions the operator writes
-- (Kubernetes convention: Ready, with observedGeneration).
local hs = {status = "Progressing", message = "Waiting for the operator"}
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = obj.metadata.generation or 0
if (obj.status.observedGeneration or 0) < generation then
  hs.message = "Waiting for the operator to see generation " .. generation
  return hs
end
for _, condition in ipairs(obj.status.conditions) do
  if condition.type == "Ready" then
    if (condition.observedGeneration or 0) < generation then
      hs.message = "Ready describes an older generation"
    elseif condition.status == "True" and condition.reason == "Inactive" then
      hs.status = "Suspended"
      hs.message = condition.message
    elseif condition.status == "True" then
      hs.status = "Healthy"
      hs.message = condition.message
    elseif condition.status == "False" then
      hs.status = "Degraded"
      hs.message = (condition.reason or "") .. ": " .. (condition.message or "")
    else
      hs.message = condition.message or "Ready is Unknown"
    end
    return hs
  end
end
return hs
