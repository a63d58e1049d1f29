'use server'
import { updateTag } from 'next/cache'

/** updateTag expires the tag now: this request reads its own write. */
export async function refreshNotes() {
  updateTag('notes')
}
