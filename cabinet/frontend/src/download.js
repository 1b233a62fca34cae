// Hands a file the API sent to the browser as a download with its own name (Cyrillic names included).
export function saveFile ({ blob, name }) {
  const link = document.createElement('a')
  link.href = URL.createObjectURL(blob)
  link.download = name
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(link.href), 60000)
}
